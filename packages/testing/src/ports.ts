import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { HarnessError } from './harness-error.js'
import { isAlive } from './processes.js'

/**
 * Ports the harness picks from: above the well-known 5432 and below Linux's
 * ephemeral range (32768–60999), so that an outgoing connection of some other
 * program cannot take a port between our check and the server's bind.
 */
const RANGE_START = 15_400
const RANGE_END = 32_700

/** A port held for one server until {@link PortReservation.release}. */
export interface PortReservation {
  readonly port: number
  release(): void
}

/**
 * Reserves `count` free loopback ports.
 *
 * Parallel test processes each start clusters, so a port is claimed with an
 * exclusive lock file (holding the owner's pid; a dead owner's lock is taken over)
 * before it is checked with a real bind. With `basePort`, exactly
 * `basePort … basePort+count-1` are used, and a busy one is an error.
 */
export async function reservePorts(
  count: number,
  lockDir: string,
  basePort?: number,
): Promise<PortReservation[]> {
  mkdirSync(lockDir, { recursive: true, mode: 0o1777 })
  const held: PortReservation[] = []
  try {
    if (basePort !== undefined) {
      for (let port = basePort; port < basePort + count; port++) {
        const reservation = await tryReserve(port, lockDir)
        if (!reservation) throw new HarnessError(`port ${port} is in use (basePort ${basePort})`)
        held.push(reservation)
      }
      return held
    }
    const span = RANGE_END - RANGE_START
    const start = RANGE_START + Math.floor(Math.random() * span)
    for (let i = 0; i < span && held.length < count; i++) {
      const port = RANGE_START + ((start - RANGE_START + i) % span)
      if (port === 5432) continue
      const reservation = await tryReserve(port, lockDir)
      if (reservation) held.push(reservation)
    }
    if (held.length < count) throw new HarnessError(`found only ${held.length} of ${count} free ports`)
    return held
  } catch (error) {
    for (const reservation of held) reservation.release()
    throw error
  }
}

async function tryReserve(port: number, lockDir: string): Promise<PortReservation | undefined> {
  const lockFile = join(lockDir, `${port}.lock`)
  if (!claimLock(lockFile)) return undefined
  const release = () => {
    try {
      unlinkSync(lockFile)
    } catch {
      // already gone
    }
  }
  if (!(await canBind(port))) {
    release()
    return undefined
  }
  return { port, release }
}

function claimLock(lockFile: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' })
      return true
    } catch {
      const owner = Number(readFileSafe(lockFile))
      if (owner && isAlive(owner)) return false
      try {
        unlinkSync(lockFile)
      } catch {
        return false
      }
    }
  }
  return false
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}
