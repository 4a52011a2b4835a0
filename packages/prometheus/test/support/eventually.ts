/** Polls `check` until it holds, or throws naming `what` after `timeoutMillis`. */
export async function eventually(check: () => boolean, what: string, timeoutMillis = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMillis
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
