// The posts service on an embedded cluster (a primary and 2 streaming replicas):
// migrates through cluster.onPrimary, then serves on http://127.0.0.1:3000 (PORT)
// until Ctrl-C. `--tour` plays a client instead (a write, then reads with and
// without its token, and /metrics), and exits.
//   pnpm --filter @causeway/example-http-app start [-- --tour]
import { startCluster } from '@causeway/testing'
import { startService } from './service.js'

const tour = process.argv.includes('--tour')
console.log('Starting an embedded cluster: a primary and 2 streaming replicas (PostgreSQL 18)…')
const embedded = await startCluster()
const service = await startService({
  primary: embedded.primary,
  replicas: embedded.replicas,
  port: tour ? 0 : Number(process.env.PORT ?? 3000),
})
for (const { migrationName, status } of service.migrations)
  console.log(`migration ${migrationName}: ${status}`)
const { base } = service
console.log(`listening on ${base}`)

async function call(method: string, path: string, options: { body?: unknown; token?: string } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.token ? { 'x-causeway-token': options.token } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  const token = response.headers.get('x-causeway-token') ?? undefined
  const text = await response.text()
  console.log(`\n${method} ${path}${options.token ? ' (with the token)' : ''} → ${response.status}`)
  if (token) console.log(`  x-causeway-token: ${token}`)
  console.log(`  ${text.length > 400 ? `${text.slice(0, 400)}…` : text}`)
  return { status: response.status, token, text }
}

try {
  if (tour) {
    const user = await call('POST', '/users', {
      body: { name: 'Ada', email: `ada.${Date.now()}@example.com` },
    })
    const { id: authorId } = JSON.parse(user.text) as { id: number }
    const post = await call('POST', '/posts', { body: { authorId, title: 'Hello', tags: ['intro'] } })
    const { id } = JSON.parse(post.text) as { id: number }
    await call('GET', `/posts/${id}`, { token: post.token })
    await call('GET', `/posts/${id}?from=primary`)
    await call('GET', '/posts?limit=1')
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text())
    console.log('\nGET /metrics (causeway_statements_total):')
    for (const line of metrics.split('\n'))
      if (line.startsWith('causeway_statements_total')) console.log(`  ${line}`)
  } else {
    console.log(`try:
  curl -i -X POST ${base}/users -H 'content-type: application/json' -d '{"name":"Ada","email":"ada@example.com"}'
  curl -i -X POST ${base}/posts -H 'content-type: application/json' -d '{"authorId":1,"title":"Hello"}'
  curl -i ${base}/posts/1 -H 'x-causeway-token: <the token the POST answered with>'
  curl ${base}/posts/1?from=primary
  curl ${base}/posts?limit=10
  curl ${base}/metrics
Ctrl-C to stop.`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
  }
} finally {
  await service.close()
  await embedded.close()
}
