import { describe, expect, it } from 'vitest'
import { NodeRegistry } from '../../src/cluster/node-registry.js'
import { detachedNode } from '../support/detached-node.js'

function registry(...names: string[]) {
  const nodes = new NodeRegistry()
  const made = names.map(detachedNode)
  for (const node of made) expect(nodes.add(node)).toBe(true)
  return { nodes, made }
}

describe('NodeRegistry', () => {
  it('keeps nodes in the order they were added, and finds them by name', () => {
    const { nodes, made } = registry('p', 'r1', 'r2')
    expect(nodes.all).toEqual(made)
    expect(nodes.byName('r1')).toBe(made[1])
    expect(nodes.byName('nope')).toBeUndefined()
  })

  it('refuses a second node with a name already taken, and adds nothing', () => {
    const { nodes, made } = registry('p', 'r1')
    const twin = detachedNode('r1')
    expect(nodes.add(twin)).toBe(false)
    expect(nodes.all).toEqual(made)
    expect(nodes.byName('r1')).toBe(made[1])
  })

  it('lists every node but the primary, the same array while nothing changes', () => {
    const { nodes, made } = registry('p', 'r1', 'r2')
    const [p, r1, r2] = made
    const replicas = nodes.replicas(p)
    expect(replicas).toEqual([r1, r2])
    expect(nodes.replicas(p)).toBe(replicas) // cached: this runs on every read
  })

  it('rebuilds the list when the primary changes', () => {
    const { nodes, made } = registry('p', 'r1', 'r2')
    const [p, r1, r2] = made
    const before = nodes.replicas(p)
    expect(nodes.replicas(r1)).toEqual([p, r2])
    expect(nodes.replicas(undefined)).toEqual([p, r1, r2])
    expect(nodes.replicas(p)).not.toBe(before)
    expect(nodes.replicas(p)).toEqual([r1, r2])
  })

  it('rebuilds the list when a node is added or removed', () => {
    const { nodes, made } = registry('p', 'r1')
    const [p, r1] = made
    expect(nodes.replicas(p)).toEqual([r1])
    const r2 = detachedNode('r2')
    nodes.add(r2)
    expect(nodes.replicas(p)).toEqual([r1, r2])
    nodes.remove(r1!)
    expect(nodes.replicas(p)).toEqual([r2])
    expect(nodes.byName('r1')).toBeUndefined()
  })

  it('does not rebuild the list for a refused add or the removal of an unknown node', () => {
    const { nodes, made } = registry('p', 'r1')
    const list = nodes.replicas(made[0])
    nodes.add(detachedNode('r1'))
    nodes.remove(detachedNode('stranger'))
    expect(nodes.replicas(made[0])).toBe(list)
  })
})
