/** Polls `check` until it holds, or fails the test with `what` after `timeoutMillis`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMillis = 15_000,
) {
  const deadline = Date.now() + timeoutMillis
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Resolves after `millis`. */
export const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))
