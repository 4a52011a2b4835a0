import { readdirSync, readFileSync } from 'node:fs'

/** Whether a process with this pid exists (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  const state = processState(pid)
  return state !== 'Z' && state !== 'X'
}

/**
 * The state letter of a process (`R`, `S`, `D`, `T` stopped, `Z` zombie…), or
 * undefined when it is gone.
 */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0]
}

/** The pid of a process's parent, or undefined when it is gone. */
export function parentPid(pid: number): number | undefined {
  const field = statFields(pid)?.[1]
  return field === undefined ? undefined : Number(field)
}

/** The kernel's start time of a process (clock ticks since boot), to tell a reused pid apart. */
export function startTime(pid: number): string | undefined {
  return statFields(pid)?.[19]
}

/** The pids of every process now running, from `/proc`. */
export function allPids(): number[] {
  return readdirSync('/proc').flatMap((entry) => (/^\d+$/.test(entry) ? [Number(entry)] : []))
}

/** Sends a signal; false when the process is already gone. */
export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name)
    return true
  } catch {
    return false
  }
}

/** The command line of a process, or '' when it is gone. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return ''
  }
}

/**
 * The fields of `/proc/<pid>/stat` after the command name, so index 0 is the state
 * (field 3 of proc(5)). The name is in parentheses and may itself hold spaces or
 * parentheses, hence the split at the last `)`.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}
