import { describe, expect, it } from 'vitest'
import { splitUrls } from '../src/args/env-urls.js'
import { parseCommand } from '../src/args/parse-command.js'
import { CliError } from '../src/cli-error.js'
import { EXIT } from '../src/exit-codes.js'

const P = 'postgres://app:pw1234@db1:5432/app'
const R1 = 'postgres://app:pw1234@db2:5432/app'
const R2 = 'postgres://app:pw1234@db3:5432/app'

function usageErrorOf(argv: string[], env: NodeJS.ProcessEnv = {}): CliError {
  try {
    parseCommand(argv, env)
  } catch (error) {
    if (error instanceof CliError) return error
    throw error
  }
  throw new Error(`parsed without an error: ${argv.join(' ')}`)
}

describe('parseCommand', () => {
  it('status with a primary, repeated --replica and --json', () => {
    expect(parseCommand(['status', P, '--replica', R1, '-r', R2, '--json'], {})).toEqual({
      kind: 'status',
      targets: { primary: P, replicas: [R1, R2] },
      json: true,
    })
  })

  it('watch with --interval, defaulting to 1000 ms', () => {
    expect(parseCommand(['watch', P, '--interval', '250'], {})).toMatchObject({ intervalMillis: 250 })
    expect(parseCommand(['watch', P], {})).toMatchObject({ intervalMillis: 1_000 })
  })

  it('route answers from the classifier alone without a URL, from the cluster with one', () => {
    expect(parseCommand(['route', 'select 1'], {})).toEqual({
      kind: 'route',
      sql: 'select 1',
      targets: undefined,
      json: false,
    })
    expect(parseCommand(['route', 'select 1', P, '--replica', R1, '--json'], {})).toEqual({
      kind: 'route',
      sql: 'select 1',
      targets: { primary: P, replicas: [R1] },
      json: true,
    })
  })

  it('mirror-check with --mirror (named host:port), --tables and --json', () => {
    const M = 'postgres://app:pw1234@db9/app'
    expect(
      parseCommand(['mirror-check', P, '-r', R1, '--mirror', M, '--tables', 'users, app.orders,'], {}),
    ).toEqual({
      kind: 'mirror-check',
      targets: { primary: P, replicas: [R1] },
      mirror: { url: M, name: 'db9:5432' },
      tables: ['users', 'app.orders'],
      json: false,
    })
    expect(parseCommand(['mirror-check', P, `--mirror=${M}`, '--json'], {})).toMatchObject({
      mirror: { url: M },
      tables: undefined,
      json: true,
    })
  })

  it('takes URLs from CAUSEWAY_PRIMARY_URL and CAUSEWAY_REPLICA_URLS; arguments win', () => {
    const env = { CAUSEWAY_PRIMARY_URL: P, CAUSEWAY_REPLICA_URLS: `${R1}, ${R2}` }
    expect(parseCommand(['status'], env)).toMatchObject({ targets: { primary: P, replicas: [R1, R2] } })
    expect(parseCommand(['status', R1, '--replica', R2], env)).toMatchObject({
      targets: { primary: R1, replicas: [R2] },
    })
    expect(parseCommand(['route', 'select 1'], env)).toMatchObject({ targets: { primary: P } })
  })

  it('--help, -h and help, for all or one command', () => {
    expect(parseCommand(['--help'], {})).toEqual({ kind: 'help', topic: undefined })
    expect(parseCommand(['help', 'watch'], {})).toEqual({ kind: 'help', topic: 'watch' })
    expect(parseCommand(['status', '-h'], {})).toEqual({ kind: 'help', topic: 'status' })
  })

  it.each([
    [[]],
    [['frobnicate']],
    [['--bogus']],
    [['status', P, '--bogus']],
    [['status', P, '--interval', '100']],
    [['watch', P, '--json']],
    [['status']],
    [['status', P, R1]],
    [['watch', P, '--interval', '10']],
    [['watch', P, '--interval', 'soon']],
    [['route']],
    [['route', 'select 1', '--replica', R1]],
    [['mirror-check', P]],
    [['mirror-check', P, '--mirror']],
    [['mirror-check', P, '--mirror', 'db9']],
    [['mirror-check', P, '--mirror', 'host=db9 password=pw1234']],
    [['mirror-check', P, '--mirror', R1, '--tables', ' , ']],
    [['mirror-check', '--mirror', R1]],
  ])('%j is a usage error, exit code 2', (argv) => {
    expect(usageErrorOf(argv).exitCode).toBe(EXIT.usage)
  })

  it('a missing or bad --mirror names the flag', () => {
    expect(usageErrorOf(['mirror-check', P]).message).toContain('--mirror')
    expect(usageErrorOf(['mirror-check', P, '--mirror', 'db9']).message).toContain('--mirror')
  })

  it('never puts a password of a URL argument in a usage error of its own making', () => {
    for (const argv of [
      ['status', P, R1],
      ['status', P, '--bogus', R1],
      ['route', 'select 1', P, R1],
      ['mirror-check', P],
      ['mirror-check', P, '--mirror', 'mysql://app:pw1234@db9/app'],
      ['mirror-check', P, '--mirror=host=db9 password=pw1234'],
    ]) {
      expect(usageErrorOf(argv).message).not.toContain('pw1234')
    }
  })
})

describe('splitUrls', () => {
  it('splits where the next URL starts, keeping libpq multi-host lists whole', () => {
    expect(splitUrls('postgres://a/db, postgresql://h1:1,h2:2/db,host=h3,h4 port=5')).toEqual([
      'postgres://a/db',
      'postgresql://h1:1,h2:2/db',
      'host=h3,h4 port=5',
    ])
    expect(splitUrls(undefined)).toEqual([])
    expect(splitUrls(' , ')).toEqual([])
  })
})
