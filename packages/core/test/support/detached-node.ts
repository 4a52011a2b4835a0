import type pg from 'pg'
import { peerPgDriver } from '../../src/driver/pg-driver.js'
import { SideConnection } from '../../src/driver/side-connection.js'
import { DbNode } from '../../src/topology/db-node.js'

const breaker = { downAfter: 3, upAfter: 2, intervalMillis: 100, maxBackoffMillis: 1_000 }

/**
 * A node for tests of pure logic (topology decisions, the replay waiter's
 * bookkeeping): it has no pool, and its side connections are never opened, so
 * the test feeds it observations by hand.
 */
export function detachedNode(name: string): DbNode {
  const nowhere = { host: `${name}.invalid`, port: 5432 }
  return new DbNode({
    name,
    weight: 1,
    pool: {} as pg.Pool,
    address: `${name}:5432`,
    endpoint: nowhere,
    breaker,
    side: new SideConnection(peerPgDriver, nowhere, 100),
    captures: new SideConnection(peerPgDriver, nowhere, 100),
  })
}
