export * from './classify/index.js'
export { Cluster, compareMirror, createCluster } from './cluster.js'
export type { ClusterConfig, MirrorConfig, PatroniConfig, SyncOptions } from './config/cluster-config.js'
export type { NodeConfig } from './config/node-config.js'
export type { RoutedConnection } from './connection/routed-connection.js'
export { formatLsn, type Lsn, normalizeInsertLsn, parseLsn, type WalLayout } from './consistency/lsn.js'
export type { SessionOptions } from './consistency/scope-context.js'
export { type ConsistencyToken, mergeTokens, parseToken, serializeToken } from './consistency/token.js'
export type { PgDriver } from './driver/pg-driver.js'
export {
  CausewayError,
  type CausewayErrorCode,
  MirrorTimeoutError,
  WriteOutcomeUnknownError,
} from './errors/causeway-error.js'
export type {
  ClusterEventName,
  ClusterEvents,
  ClusterListener,
  FallbackReason,
} from './events/cluster-events.js'
export { InProcessFailoverLock } from './failover/in-process-failover-lock.js'
export {
  acceptedCookieToken,
  type RequestToken,
  readRequestToken,
  type TokenRejection,
  type TokenTransport,
  type TokenTransportOptions,
  tokenCookie,
  tokenTransport,
} from './http/request-token.js'
export {
  type SessionCluster,
  type SessionHandlerOptions,
  sessionHandler,
  type TokenRequest,
  type TokenResponse,
} from './http/session-handler.js'
export type {
  CompareMirrorOptions,
  MirrorComparison,
  TableComparison,
} from './mirror/compare-mirror.js'
export type { MirrorState } from './mirror/mirror-health.js'
export type { MirrorStatus } from './mirror/statement-mirror.js'
export type { Balancer, BalancerFunction, BalancerName, Candidate } from './model/balancer.js'
export type { CursorConstructor, CursorLike } from './model/cursor.js'
export type { FailoverLock } from './model/failover-lock.js'
export * from './model/intent.js'
export type { NodeRole, NodeState } from './model/node-state.js'
export type { Statement, TransactionOptions } from './model/statement.js'
export type { LinkState, LinkStatus } from './multi/link-status.js'
export type {
  CrossGroupFallbackReason,
  MultiPrimaryEventName,
  MultiPrimaryEvents,
  MultiPrimaryListener,
} from './multi/multi-events.js'
export type {
  MultiLinkConfig,
  MultiPrimaryConfig,
  MultiRoute,
  MultiSessionInfo,
} from './multi/multi-primary-config.js'
export { type MultiToken, parseMultiToken, serializeMultiToken } from './multi/multi-token.js'
export {
  createMultiPrimary,
  MultiPrimary,
  type MultiPrimaryStatus,
  type MultiSessionOptions,
} from './multi-primary.js'
export type {
  ClusterStatus,
  NodeStatus,
  PatroniMemberStatus,
  PatroniStatus,
} from './status/cluster-status.js'
export {
  REPLAY_WAIT_CHANNEL,
  type ReplayWaitTraceContext,
  type RouteReason,
  STATEMENT_CHANNEL,
  type StatementTraceContext,
} from './tracing/trace-channels.js'
export { redact } from './util/redact.js'
