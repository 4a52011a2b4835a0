import type { NodeRole } from '../model/node-state.js'
import { isLeaderRole, type PatroniMember, type PatroniView } from './patroni-view.js'

/** What an outside manager says of one node's right to take writes. */
export type LeaderVerdict = 'leader' | 'not-leader' | 'unknown'

/** The parts of a node that tell which member it is. */
export interface NamedEndpoint {
  readonly name: string
  readonly endpoint: { readonly host: string; readonly port: number }
}

/**
 * The leader as Patroni last reported it, held beside what the probes see. A node
 * takes writes only while both agree: the probe says it is writable, and Patroni's
 * leader key names it. So a server promoted behind Patroni's back (or an old leader
 * that has not yet noticed it lost the key) gets no write, whatever its timeline.
 *
 * A node is matched to a member by name (a node named after the member), else by
 * `host:port` (the member's `connect_address`). When Patroni cannot be asked, or
 * its leader matches none of the nodes, the verdict is `unknown` and the probes
 * decide alone, as without Patroni.
 */
export class LeaderAuthority {
  readonly #nodes: () => readonly NamedEndpoint[]
  #view: PatroniView | undefined

  constructor(nodes: () => readonly NamedEndpoint[]) {
    this.#nodes = nodes
  }

  /** The last view, or undefined while Patroni cannot be asked. */
  get view(): PatroniView | undefined {
    return this.#view
  }

  /** A new view from Patroni, or undefined when no REST API answered. */
  update(view: PatroniView | undefined): void {
    this.#view = view
  }

  /** The member `node` is, in the last view. */
  memberOf(node: NamedEndpoint): PatroniMember | undefined {
    const members = this.#view?.members
    if (!members) return undefined
    return members.find((m) => m.name === node.name) ?? members.find((m) => sameEndpoint(m, node))
  }

  /** The node that is `member`, among the nodes. */
  nodeOf(member: PatroniMember): NamedEndpoint | undefined {
    const nodes = this.#nodes()
    return nodes.find((n) => n.name === member.name) ?? nodes.find((n) => sameEndpoint(member, n))
  }

  /** Whether Patroni lets `node` take writes now. */
  verdict(node: NamedEndpoint): LeaderVerdict {
    const view = this.#view
    if (!view) return 'unknown'
    // No leader key: a failover is under way (or a standby cluster). Nobody writes.
    if (!view.leader) return 'not-leader'
    const leader = this.nodeOf(view.leader)
    // A leader we cannot place: Patroni's addresses differ from ours. Fencing every
    // node on that basis would stop all writes, so the probes decide.
    if (!leader) return 'unknown'
    return leader === node ? 'leader' : 'not-leader'
  }

  /** Why `node` may not take writes, for its fence reason; undefined when it may. */
  refusal(node: NamedEndpoint): string | undefined {
    if (this.verdict(node) !== 'not-leader') return undefined
    const leader = this.#view?.leader
    return leader
      ? `writable, but Patroni's leader is ${leader.name}`
      : 'writable, but Patroni names no leader (a failover is under way)'
  }
}

function sameEndpoint(member: PatroniMember, node: NamedEndpoint): boolean {
  return member.port === node.endpoint.port && member.host === node.endpoint.host
}

/** How Patroni and a server disagree about one node: what each says. */
export interface Disagreement {
  readonly patroni: string
  readonly server: string
}

/**
 * Compares what Patroni says of a member with what the server's own probe saw.
 * Undefined when they agree, or when the server has not been probed yet.
 */
export function disagreement(
  member: PatroniMember,
  server: { readonly role: NodeRole; readonly timeline: number | undefined },
): Disagreement | undefined {
  if (server.role === 'unknown') return undefined
  const leader = isLeaderRole(member.role)
  if (leader && server.role === 'replica') return { patroni: `${member.role}`, server: 'in recovery' }
  if (!leader && server.role === 'primary') return { patroni: `${member.role}`, server: 'writable' }
  if (member.timeline !== undefined && server.timeline !== undefined && member.timeline !== server.timeline) {
    return { patroni: `timeline ${member.timeline}`, server: `timeline ${server.timeline}` }
  }
  return undefined
}
