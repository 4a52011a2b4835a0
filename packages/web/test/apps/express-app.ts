import { createServer } from 'node:http'
import { causeway } from '@causeway/web/express'
import express from 'express'
import { chunks, listening, notes, type StartNotesApp } from './notes-app.js'

export const startExpress: StartNotesApp = async (db, integrated) => {
  const app = express()
  // Before the body parser on purpose: the session must survive parsing.
  if (integrated) app.use(causeway(db))
  app.use(express.json())
  app.post('/notes', async (req, res) => {
    res.json({ id: await notes.insert(db, req.body) })
  })
  app.post('/notes/stream', async (req, res) => {
    const [first, second] = chunks(await notes.insert(db, req.body))
    res.type('application/json')
    res.write(first)
    res.write(second)
    res.end()
  })
  app.get('/notes/:id', async (req, res) => {
    res.json({ found: await notes.found(db, req.params.id) })
  })
  return listening(createServer(app))
}
