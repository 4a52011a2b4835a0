import { describe, expect, it } from 'vitest'
import { redact, registerSecret } from '../../src/util/redact.js'

describe('redact', () => {
  it('hides the password of any URL', () => {
    expect(redact('cannot reach postgres://app:s3cret@db2:5432/app now')).toBe(
      'cannot reach postgres://app:***@db2:5432/app now',
    )
    expect(redact('postgresql://u:p%40ss@h/db')).toBe('postgresql://u:***@h/db')
  })

  it('hides password= in a connection string', () => {
    expect(redact('host=db1 password=hunter22 user=app')).toBe('host=db1 password=*** user=app')
    expect(redact("host=db1 password='a b' user=app")).toBe('host=db1 password=*** user=app')
  })

  it('hides a password in SQL text, as a statement event would show it', () => {
    expect(redact("alter role app with encrypted password 'hunter22'")).toBe(
      "alter role app with encrypted password '***'",
    )
    expect(redact("create user u password 'it''s'")).toBe("create user u password '***'")
    expect(redact('password authentication failed for user "app"')).toBe(
      'password authentication failed for user "app"',
    )
  })

  it('hides every registered secret wherever it appears', () => {
    registerSecret('tr0ub4dor&3')
    expect(redact('auth failed with tr0ub4dor&3 for app')).toBe('auth failed with *** for app')
  })
})
