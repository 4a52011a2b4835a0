// `pnpm demo:multi-primary`: two groups, each a PostgreSQL 18 primary with a
// streaming replica, whose primaries replicate to each other by logical replication.
// A session at home in `eu` writes in `us` (routed by its key), then reads the row
// back in `eu`: Causeway serves it there once eu has applied us's change up to the
// write's token, or goes back to us. It prints where each statement ran.
import { type ClusterEvents, createMultiPrimary } from '@causeway/core'
import { startMultiPrimary } from '@causeway/testing'

const started = performance.now()
console.log('Starting two groups (eu, us): each a primary and a streaming replica, linked both ways')
const test = await startMultiPrimary({
  names: ['eu', 'us'],
  onProgress: (line) => console.log(`  [${((performance.now() - started) / 1000).toFixed(2)}s] ${line}`),
})
const multi = createMultiPrimary({
  groups: Object.fromEntries(
    test.names.map((name) => {
      const group = test.groups[name]!
      return [
        name,
        {
          primary: { connectionString: group.primary.url, name: `${name}-primary` },
          replicas: group.replicas.map((node, i) => ({
            connectionString: node.url,
            name: `${name}-replica${i + 1}`,
          })),
        },
      ]
    }),
  ),
  home: 'eu',
  links: test.links.map(({ from, to, subscription }) => ({ from, to, subscription })),
  // A tenant's writes go to its own group: the session's key names it.
  route: (_statement, session) => session.key,
})
for (const name of test.names) {
  multi
    .group(name)
    .on('statement', (e: ClusterEvents['statement']) =>
      console.log(`  ${`${e.node} (${e.role})`.padEnd(22)} ${e.statement}`),
    )
}
multi.on('cross-group-fallback', (e) => console.log(`  ↪ read served in ${e.servedIn} instead: ${e.reason}`))

try {
  await test.ddl('create table notes (id text primary key, body text not null, written_in text not null)')
  await multi.ready()
  for (let i = 1; i <= 3; i++) {
    console.log(`\nSession ${i}: at home in eu, writes for a tenant of us, then reads it back`)
    await multi.session(
      async () => {
        await multi.query(`insert into notes values ($1, 'hello', 'us')`, [`note-${i}`])
        const { rows } = await multi.query<{ body: string }>('select body from notes where id = $1', [
          `note-${i}`,
        ])
        console.log(`  → read back: ${rows[0]?.body ?? 'nothing (stale!)'}`)
      },
      { home: 'eu', key: 'us' },
    )
  }
  console.log('\nLinks:')
  console.table(
    multi.status().links.map((link) => ({
      link: `${link.from} → ${link.to}`,
      state: link.state,
      'applied up to': link.appliedLsn,
      'lag bytes': link.lagBytes,
      conflicts: Object.values(link.conflicts).reduce((a, b) => a + b, 0),
    })),
  )
} finally {
  await multi.close()
  await test.close()
  console.log('\nBoth groups stopped; no server left running.')
}
