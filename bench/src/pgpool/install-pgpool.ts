import { execFile } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Where Debian's `pgpool2` package puts the server. */
const CANDIDATES = ['/usr/sbin/pgpool', '/usr/bin/pgpool', '/usr/local/bin/pgpool']

/** pgpool-II is ready to run, or cannot be, with the reason. */
export type PgpoolAvailability =
  | { readonly ok: true; readonly binary: string; readonly version: string }
  | { readonly ok: false; readonly reason: string }

/**
 * Finds pgpool-II, installing Debian's `pgpool2` when it is missing and we are
 * root (refreshing the package lists once if the first try fails, as on a machine
 * whose lists were never fetched). Never throws: a reason to skip is a result.
 */
export async function ensurePgpool(log: (line: string) => void): Promise<PgpoolAvailability> {
  let binary = await findBinary()
  if (!binary) {
    if (process.getuid?.() !== 0) {
      return {
        ok: false,
        reason: 'pgpool is not installed, and installing it needs root (apt-get install pgpool2)',
      }
    }
    log('pgpool: not installed; apt-get install -y pgpool2')
    const installed = await aptInstall()
      .catch(async () => {
        log('pgpool: install failed; apt-get update, then again')
        await apt(['update'])
        return aptInstall()
      })
      .then(
        () => undefined,
        (error: unknown) => `apt-get install pgpool2 failed: ${firstLine(error)}`,
      )
    if (installed) return { ok: false, reason: installed }
    binary = await findBinary()
    if (!binary) return { ok: false, reason: 'pgpool2 installed, but no pgpool binary found' }
  }
  try {
    // pgpool prints its version on stderr.
    const { stdout, stderr } = await run(binary, ['--version'], { timeout: 10_000 })
    const text = `${stdout}${stderr}`
    const version = /version\s+(\S+)/i.exec(text)?.[1] ?? text.trim()
    return { ok: true, binary, version }
  } catch (error) {
    return { ok: false, reason: `${binary} --version failed: ${firstLine(error)}` }
  }
}

async function findBinary(): Promise<string | undefined> {
  for (const path of CANDIDATES) {
    try {
      await access(path, constants.X_OK)
      return path
    } catch {}
  }
  return undefined
}

function aptInstall(): Promise<unknown> {
  return apt(['install', '-y', '--no-install-recommends', 'pgpool2'])
}

function apt(args: string[]): Promise<unknown> {
  return run('apt-get', ['-q', ...args], {
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
}

function firstLine(error: unknown): string {
  const text = (error as { stderr?: string }).stderr?.trim() || (error as Error).message || String(error)
  return text.split('\n').filter(Boolean).at(-1) ?? text
}
