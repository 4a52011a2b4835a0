import { describe, expect, it } from 'vitest'
import { parseConninfo, withHostPort } from '../../src/failover/conninfo.js'

describe('conninfo', () => {
  it('parses quoted and escaped values', () => {
    expect(parseConninfo(`host=db1 password='it\\'s' user=a\\ b application_name = 'x y'`)).toEqual([
      ['host', 'db1'],
      ['password', "it's"],
      ['user', 'a b'],
      ['application_name', 'x y'],
    ])
  })

  it('re-points host and port, keeping user, password and options', () => {
    const next = withHostPort(
      `host=10.0.0.1 hostaddr=10.0.0.1 port=5432 user=rep password='p w' application_name=pg3`,
      'db2',
      6543,
    )
    expect(parseConninfo(next)).toEqual([
      ['host', 'db2'],
      ['port', '6543'],
      ['user', 'rep'],
      ['password', 'p w'],
      ['application_name', 'pg3'],
    ])
  })

  it('re-points a URI-form conninfo', () => {
    expect(withHostPort('postgresql://rep:pw@db1:5432/postgres?application_name=pg3', 'db2', 6543)).toBe(
      'postgresql://rep:pw@db2:6543/postgres?application_name=pg3',
    )
  })

  it('rejects a malformed string', () => {
    expect(() => parseConninfo('host')).toThrow(/malformed/)
    expect(() => parseConninfo("password='open")).toThrow(/unterminated/)
  })
})
