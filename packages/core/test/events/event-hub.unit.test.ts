import { describe, expect, it } from 'vitest'
import { describeStatement, EventHub } from '../../src/events/event-hub.js'

describe('EventHub', () => {
  it('keeps going when a listener throws, and reports it as listener-error', () => {
    const hub = new EventHub()
    const seen: string[] = []
    const errors: string[] = []
    hub.on('replica-added', () => {
      throw new Error('listener bug')
    })
    hub.on('replica-added', (e) => seen.push(e.node))
    hub.on('listener-error', (e) => errors.push(`${e.event}: ${e.error}`))
    expect(() => hub.emit('replica-added', { node: 'pg4' })).not.toThrow()
    expect(seen).toEqual(['pg4'])
    expect(errors).toEqual(['replica-added: Error: listener bug'])
  })

  it('stops calling a listener once unsubscribed', () => {
    const hub = new EventHub()
    const seen: string[] = []
    const off = hub.on('replica-removed', (e) => seen.push(e.node))
    hub.emit('replica-removed', { node: 'a' })
    off()
    hub.emit('replica-removed', { node: 'b' })
    expect(seen).toEqual(['a'])
    expect(hub.has('replica-removed')).toBe(false)
  })
})

describe('describeStatement', () => {
  it('folds white space, cuts long statements and hides passwords', () => {
    expect(describeStatement('select\n  1')).toBe('select 1')
    expect(describeStatement(`select '${'x'.repeat(300)}'`)).toHaveLength(200)
    expect(describeStatement("alter role app password 'hunter22'")).toBe("alter role app password '***'")
  })
})
