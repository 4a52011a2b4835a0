import { type ConsistencyToken, parseToken, serializeToken, type TokenSecrets } from '../consistency/token.js'
import { CausewayError } from '../errors/causeway-error.js'

/** A multi-group token: per group written, the position a read must see there. */
export type MultiToken = ReadonlyMap<string, ConsistencyToken>

const VERSION = 'cwm1'
const GROUP = /^[a-z][a-z0-9_]{0,62}$/

/**
 * Serialises a multi-group token as `cwm1~<group>~<cw1 token>~…`, each group's
 * position a cluster token (signed with `secrets` when given, as `serializeToken` does).
 *
 * @example
 * serializeMultiToken(new Map([['eu', { systemId: '73401', timeline: 1, lsn: 0x3000148n }]]))
 * // 'cwm1~eu~cw1.73401.1.3000148'
 */
export function serializeMultiToken(token: MultiToken, secrets?: TokenSecrets): string {
  let text = VERSION
  for (const [group, position] of token) text += `~${group}~${serializeToken(position, secrets)}`
  return text
}

/**
 * Parses a token made by {@link serializeMultiToken}. Strict: malformed text, a
 * group not in `groups`, a group named twice, or (with `secrets`) a position not
 * signed with one of them is a `TOKEN_INVALID` error. A position naming a
 * system the group does not run is not an error here: the group's cluster treats
 * it as a stale token (its primary answers).
 */
export function parseMultiToken(
  text: string,
  groups: ReadonlySet<string>,
  secrets?: TokenSecrets,
): MultiToken {
  const parts = typeof text === 'string' ? text.split('~') : []
  if (
    parts[0] !== VERSION ||
    parts.length < 3 ||
    parts.length % 2 !== 1 ||
    parts.length > 1 + 2 * groups.size
  ) {
    throw new CausewayError('TOKEN_INVALID', 'invalid multi-group token: expected cwm1~<group>~<token>…')
  }
  const token = new Map<string, ConsistencyToken>()
  for (let i = 1; i < parts.length; i += 2) {
    const group = parts[i]!
    if (!GROUP.test(group) || !groups.has(group) || token.has(group)) {
      throw new CausewayError(
        'TOKEN_INVALID',
        `invalid multi-group token: ${GROUP.test(group) ? `group "${group}" is unknown or repeated` : 'a malformed group name'}`,
      )
    }
    token.set(group, parseToken(parts[i + 1]!, secrets))
  }
  return token
}
