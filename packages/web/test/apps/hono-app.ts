import type { Server } from 'node:http'
import { causeway } from '@causeway/web/hono'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import { chunks, listening, notes, type StartNotesApp } from './notes-app.js'

export const startHono: StartNotesApp = async (db, integrated) => {
  const app = new Hono()
  if (integrated) app.use(causeway(db))
  app.post('/notes', async (c) => c.json({ id: await notes.insert(db, await c.req.json()) }))
  app.post('/notes/stream', async (c) => {
    const id = await notes.insert(db, await c.req.json())
    c.header('content-type', 'application/json')
    return stream(c, async (body) => {
      for (const chunk of chunks(id)) await body.write(chunk)
    })
  })
  app.get('/notes/:id', async (c) => c.json({ found: await notes.found(db, c.req.param('id')) }))
  return listening(createAdaptorServer({ fetch: app.fetch }) as Server)
}
