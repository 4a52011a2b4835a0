import { z } from 'zod'

const millis = z.number().int().nonnegative().finite()

/** A `postgres://` (or `postgresql://`) URL; the text is never echoed, it may hold a password. */
const mirrorUrl = z.string().superRefine((text, context) => {
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {}
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
    context.addIssue({ code: 'custom', message: 'must be a postgres:// URL' })
  }
})

/** `durable`: `true`, or its settings. */
const durableSchema = z
  .object({
    /** How often the relay looks for outbox rows when nothing woke it. */
    pollMillis: z.number().int().min(1).default(100),
    /** Outbox rows (committed transactions) applied per mirror transaction. */
    batchSize: z.number().int().positive().default(100),
  })
  .strict()

/** One entry of `mirrors`. */
export const mirrorSchema = z
  .object({
    url: mirrorUrl.optional(),
    connectionString: mirrorUrl.optional(),
    name: z.string().min(1).optional(),
    mode: z.enum(['async', 'sync']).default('async'),
    reads: z
      .object({ sample: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1') })
      .strict()
      .optional(),
    volatile: z.enum(['flag', 'refuse']).default('flag'),
    backlog: z
      .object({
        maxStatements: z.number().int().positive().default(10_000),
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(16 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    timeoutMillis: millis.default(1_000),
    gatherMillis: millis.max(60_000).default(10),
    order: z.enum(['commit', 'acknowledgement']).default('commit'),
    durable: z.union([z.boolean(), durableSchema]).default(false),
  })
  .strict()
  .superRefine((mirror, context) => {
    if ((mirror.url === undefined) === (mirror.connectionString === undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'give exactly one of url and connectionString',
      })
    }
    if (mirror.durable !== false && mirror.order === 'acknowledgement') {
      context.addIssue({
        code: 'custom',
        path: ['order'],
        message:
          "is 'acknowledgement' on a durable mirror, which always replays in commit order: leave it out",
      })
    }
    if (mirror.durable !== false && mirror.mode === 'sync') {
      context.addIssue({
        code: 'custom',
        path: ['durable'],
        message:
          "is set with mode 'sync': a durable mirror is relayed in the background, so use mode 'async'",
      })
    }
  })
  .transform(({ url, connectionString, durable, ...rest }) => {
    const text = (url ?? connectionString)!
    return {
      ...rest,
      connectionString: text,
      name: rest.name ?? addressOf(text),
      durable: durable === false ? undefined : durableSchema.parse(durable === true ? {} : durable),
    }
  })

/** `mirrors`: names are unique. */
export const mirrorsSchema = z
  .array(mirrorSchema)
  .default([])
  .superRefine((mirrors, context) => {
    const seen = new Set<string>()
    mirrors.forEach((mirror, i) => {
      if (seen.has(mirror.name))
        context.addIssue({ code: 'custom', path: [i, 'name'], message: `"${mirror.name}" is used twice` })
      seen.add(mirror.name)
    })
  })

/** A mirror's settings with every default filled in. */
export type ResolvedMirror = z.output<typeof mirrorSchema>

function addressOf(text: string): string {
  const url = new URL(text)
  return `${url.hostname || 'localhost'}:${url.port || 5432}`
}
