import { Readable } from 'node:stream'
import { causeway } from '@causeway/web/fastify'
import Fastify from 'fastify'
import { chunks, type NotesApp, notes, type StartNotesApp } from './notes-app.js'

export const startFastify: StartNotesApp = async (db, integrated) => {
  const app = Fastify()
  if (integrated) await app.register(causeway, { cluster: db })
  app.post('/notes', async (request) => ({ id: await notes.insert(db, request.body) }))
  app.post('/notes/stream', async (request, reply) => {
    const id = await notes.insert(db, request.body)
    return reply.type('application/json').send(Readable.from(chunks(id)))
  })
  app.get<{ Params: { id: string } }>('/notes/:id', async (request) => ({
    found: await notes.found(db, request.params.id),
  }))
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  return { base: address, close: () => app.close() } satisfies NotesApp
}
