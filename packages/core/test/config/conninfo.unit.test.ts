import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { type Conninfo, hostAddress, parseConninfo, singleHostUrl } from '../../src/config/conninfo.js'

/** The message of the CONFIG_INVALID error that `parseConninfo(text)` throws. */
function problem(text: string): string {
  try {
    parseConninfo(text)
  } catch (error) {
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' })
    return (error as Error).message
  }
  throw new Error('expected the connection string to be rejected')
}

/** What `pg` itself reads from a URL: the real parser, not our idea of it. */
function asPgReadsIt(url: string) {
  const client = new pg.Client({ connectionString: url })
  const params = (client as unknown as { connectionParameters: Record<string, unknown> }).connectionParameters
  return {
    host: client.host,
    port: client.port,
    user: client.user,
    password: client.password,
    database: client.database,
    ssl: client.ssl,
    application_name: params.application_name,
    options: params.options,
  }
}

describe('parseConninfo: URLs', () => {
  it('reads a multi-host URL, each host with its own port', () => {
    expect(parseConninfo('postgres://app:pw@h1:5432,h2:5433/db?target_session_attrs=read-write')).toEqual({
      form: 'url',
      hosts: [
        { host: 'h1', port: 5432 },
        { host: 'h2', port: 5433 },
      ],
      user: 'app',
      password: 'pw',
      dbname: 'db',
      targetSessionAttrs: 'read-write',
      params: {},
    })
  })

  it('takes the postgresql:// scheme, in any case', () => {
    expect(parseConninfo('postgresql://h1,h2/db').hosts).toHaveLength(2)
    expect(parseConninfo('PostgreSQL://h1/db').dbname).toBe('db')
  })

  it('leaves a missing port to the default, host by host', () => {
    expect(parseConninfo('postgres://h1,h2:6000,h3/db').hosts).toEqual([
      { host: 'h1', port: undefined },
      { host: 'h2', port: 6000 },
      { host: 'h3', port: undefined },
    ])
  })

  it('reads bracketed IPv6 addresses, with and without a port', () => {
    expect(parseConninfo('postgres://[::1]:5433,[fe80::1%25eth0],127.0.0.1/db').hosts).toEqual([
      { host: '::1', port: 5433 },
      { host: 'fe80::1%25eth0', port: undefined },
      { host: '127.0.0.1', port: undefined },
    ])
  })

  it('percent-decodes the user, password, database, hosts and parameters; a + stays a +', () => {
    const info = parseConninfo(
      'postgres://us%40er:p%40ss%3Aw%2Fo+rd@%2Fvar%2Frun%2Fpostgresql,h2/my%20db?application_name=a%20b+c',
    )
    expect(info).toMatchObject({
      user: 'us@er',
      password: 'p@ss:w/o+rd',
      dbname: 'my db',
      hosts: [
        { host: '/var/run/postgresql', port: undefined },
        { host: 'h2', port: undefined },
      ],
      params: { application_name: 'a b+c' },
    })
  })

  it('takes an unencoded @ in the password, as pg does (the last @ ends the user part)', () => {
    expect(parseConninfo('postgres://app:p@ss@h1,h2/db')).toMatchObject({ user: 'app', password: 'p@ss' })
  })

  it('reads a user without a password, and no user at all', () => {
    expect(parseConninfo('postgres://app@h1/db')).toMatchObject({ user: 'app', password: undefined })
    expect(parseConninfo('postgres://h1/db')).toMatchObject({ user: undefined, password: undefined })
  })

  it('reads an empty host list and a missing database as defaults', () => {
    expect(parseConninfo('postgres://')).toMatchObject({
      hosts: [{ host: '', port: undefined }],
      dbname: undefined,
    })
    expect(parseConninfo('postgresql:///db')).toMatchObject({
      hosts: [{ host: '', port: undefined }],
      dbname: 'db',
    })
  })

  it('takes host and port lists from query parameters, which win over the URL', () => {
    expect(parseConninfo('postgresql:///db?host=/tmp,h2&port=5432,5433').hosts).toEqual([
      { host: '/tmp', port: 5432 },
      { host: 'h2', port: 5433 },
    ])
    expect(parseConninfo('postgres://h1:1,h2:2/db?port=7000').hosts).toEqual([
      { host: 'h1', port: 7000 },
      { host: 'h2', port: 7000 },
    ])
    expect(parseConninfo('postgres://h1/a?dbname=b&user=u&password=p')).toMatchObject({
      dbname: 'b',
      user: 'u',
      password: 'p',
    })
  })

  it('passes every other parameter through, and drops load_balance_hosts (every host is a node)', () => {
    expect(
      parseConninfo(
        'postgres://h1,h2/db?sslmode=require&application_name=app&load_balance_hosts=random&connect_timeout=3',
      ).params,
    ).toEqual({ sslmode: 'require', application_name: 'app', connect_timeout: '3' })
  })

  it('ignores a fragment', () => {
    expect(parseConninfo('postgres://h1/db#x').dbname).toBe('db')
  })
})

describe('parseConninfo: key/value strings', () => {
  it('reads host and port lists, a port per host', () => {
    expect(
      parseConninfo('host=h1,h2 port=5432,5433 dbname=app user=app target_session_attrs=standby'),
    ).toEqual({
      form: 'key-value',
      hosts: [
        { host: 'h1', port: 5432 },
        { host: 'h2', port: 5433 },
      ],
      user: 'app',
      password: undefined,
      dbname: 'app',
      targetSessionAttrs: 'standby',
      params: {},
    })
  })

  it('applies one port to every host, and leaves an empty entry to the default', () => {
    expect(parseConninfo('host=h1,h2,h3 port=6000').hosts.map((h) => h.port)).toEqual([6000, 6000, 6000])
    expect(parseConninfo('host=h1,h2 port=,6000').hosts.map((h) => h.port)).toEqual([undefined, 6000])
    expect(parseConninfo('host=h1,h2').hosts.map((h) => h.port)).toEqual([undefined, undefined])
  })

  it('reads quoted values, backslash escapes in and out of quotes, and spaces around =', () => {
    expect(
      parseConninfo(
        `host = h1 password='it\\'s a \\\\ secret' user=a\\ b application_name='' options='-c search_path=x'`,
      ),
    ).toMatchObject({
      user: 'a b',
      password: "it's a \\ secret",
      params: { application_name: '', options: '-c search_path=x' },
    })
  })

  it('keeps a unix-socket directory and an unbracketed IPv6 address as hosts', () => {
    expect(parseConninfo('host=/var/run/postgresql,::1 port=5432').hosts).toEqual([
      { host: '/var/run/postgresql', port: 5432 },
      { host: '::1', port: 5432 },
    ])
  })

  it('lets the last of a repeated key win, as libpq does', () => {
    expect(parseConninfo('dbname=a dbname=b').dbname).toBe('b')
  })

  it('reads a string without host as the default host', () => {
    expect(parseConninfo('dbname=app').hosts).toEqual([{ host: '', port: undefined }])
  })
})

describe('parseConninfo: errors name the problem, never the value', () => {
  const secret = 's3cret-pw'

  it.each([
    ['', /is empty/],
    ['mysql://app:s3cret-pw@db/app', /must be a postgres:\/\/ or postgresql:\/\/ URL, or a key\/value/],
    ['just-a-host-s3cret-pw', /must be a postgres:\/\/ or postgresql:\/\/ URL/],
    ['host=h1,h2,h3 port=1,2 password=s3cret-pw', /port lists 2 ports for 3 hosts/],
    ['host=h1 port=99999 password=s3cret-pw', /port of host 1: the port must be a number from 1 to 65535/],
    ['host=h1 port=abc', /the port must be a number/],
    ['postgres://u:s3cret-pw@h1:5432,h2:x/db', /host 2: the port must be a number/],
    ['postgres://u:s3cret-pw@[::1/db', /host 1: an IPv6 address misses its "]"/],
    ['postgres://u:s3cret-pw@[::1]x/db', /host 1: only ":port" may follow "]"/],
    ["host=h1 password='s3cret-pw", /pair 2 \(password\): the quoted value has no closing quote/],
    ['host=h1 s3cret-pw', /pair 2: a key is letters, digits and "_"/],
    ['host=h1 password', /pair 2 \(password\): "=" expected after the key/],
    [
      'host=h1 target_session_attrs=s3cret-pw',
      /target_session_attrs must be one of any, read-write, read-only/,
    ],
    ['postgres://u:%zz@h1/db', /the password has a malformed percent-encoding/],
    ['postgres://u:s3cret-pw@h1/db?s3cret-pw', /a query parameter without a name or without "="/],
    ['host=h1 hostaddr=10.0.0.1 password=s3cret-pw', /hostaddr is not supported/],
  ])('%s', (text, message) => {
    const got = problem(text)
    expect(got).toMatch(message)
    expect(got).not.toContain(secret)
  })
})

describe('singleHostUrl: one host of a parsed string, as pg reads it', () => {
  const url = (text: string, index = 0) => {
    const info: Conninfo = parseConninfo(text)
    return singleHostUrl(info, info.hosts[index]!)
  }

  it('keeps user, password, database and parameters, for the host asked', () => {
    const one = url(
      "host=h1,h2 port=5432,5433 user='a b' password='p@ss:w/o+rd &x' dbname='my db' application_name='x y' options='-c a=b'",
      1,
    )
    expect(asPgReadsIt(one)).toEqual({
      host: 'h2',
      port: 5433,
      user: 'a b',
      password: 'p@ss:w/o+rd &x',
      database: 'my db',
      ssl: false,
      application_name: 'x y',
      options: '-c a=b',
    })
  })

  it('passes sslmode through to pg', () => {
    expect(asPgReadsIt(url('postgres://h1,h2/db?sslmode=no-verify', 1)).ssl).toEqual({
      rejectUnauthorized: false,
    })
  })

  it('brackets an IPv6 address, and defaults the port', () => {
    const one = url('host=::1 dbname=db')
    expect(one).toBe('postgres://[::1]:5432/db')
    expect(asPgReadsIt(one)).toMatchObject({ host: '::1', port: 5432 })
  })

  it('puts a unix-socket directory where pg reads it', () => {
    expect(asPgReadsIt(url('host=/var/run/postgresql,h2 port=5433 user=app dbname=db'))).toMatchObject({
      host: '/var/run/postgresql',
      port: 5433,
      user: 'app',
      database: 'db',
    })
  })

  it('leaves out the user part when there is none', () => {
    expect(url('postgres://h1,h2/db')).toBe('postgres://h1:5432/db')
  })
})

describe('hostAddress', () => {
  it('names a host as host:port', () => {
    expect(hostAddress({ host: 'h1', port: undefined })).toBe('h1:5432')
    expect(hostAddress({ host: '::1', port: 6000 })).toBe('[::1]:6000')
    expect(hostAddress({ host: '', port: 6000 })).toBe('localhost:6000')
    expect(hostAddress({ host: '/tmp', port: undefined })).toBe('/tmp:5432')
  })
})
