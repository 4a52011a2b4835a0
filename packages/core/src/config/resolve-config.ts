import type { z } from 'zod'
import { CausewayError } from '../errors/causeway-error.js'
import type { ClusterConfig } from './cluster-config.js'
import { clusterConfigSchema, type ResolvedConfig } from './config-schema.js'

/**
 * Validates a configuration and fills in the defaults. A bad configuration fails
 * here, at construction, with every problem named by its path
 * (`replicas[1].weight: must be positive`). Values are never echoed: they may hold
 * passwords.
 */
export function resolveConfig(config: ClusterConfig): ResolvedConfig {
  if (config === null || typeof config !== 'object') {
    throw new CausewayError(
      'CONFIG_INVALID',
      'invalid Causeway config: expected an object with at least `primary`',
    )
  }
  const result = clusterConfigSchema.safeParse(config)
  if (result.success) return Object.freeze(result.data)
  throw new CausewayError(
    'CONFIG_INVALID',
    `invalid Causeway config:\n${describeIssues(config, result.error.issues)}`,
  )
}

/**
 * One line per problem, each naming its path (`  replicas[1].weight: must be
 * positive`), after `prefix` (`sync` for a session's own setting). Values are
 * never echoed.
 */
export function describeIssues(
  input: unknown,
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): string {
  return flatten(issues, [])
    .map(
      ({ issue, path }) =>
        `  ${formatPath([...prefix, ...path])}: ${valueAt(input, path) === undefined ? 'is required' : describe(issue)}`,
    )
    .join('\n')
}

/**
 * Expands "invalid union" issues (a node is a URL *or* an object) into the issues
 * of the branch the input was meant for: the one that did not fail on the input's
 * type itself. So a typo inside a node object is named, not hidden behind
 * "expected a URL or an object".
 */
function flatten(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[],
): { issue: z.core.$ZodIssue; path: PropertyKey[] }[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path]
    if (issue.code !== 'invalid_union') return [{ issue, path }]
    const meant = issue.errors.find(
      (branch) => !branch.some((i) => i.path.length === 0 && i.code === 'invalid_type'),
    )
    return meant ? flatten(meant, path) : [{ issue, path }]
  })
}

function valueAt(config: unknown, path: readonly PropertyKey[]): unknown {
  let value = config
  for (const key of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key]
  return value
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(config)'
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('')
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
  return issue.message
}
