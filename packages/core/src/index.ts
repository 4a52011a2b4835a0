export { Cluster, createCluster, type SessionOptions } from './cluster.js'
export type { ClusterConfig, SyncOptions } from './config/cluster-config.js'
export type { NodeConfig } from './config/node-config.js'
export { type CursorConstructor, type CursorLike, RoutedConnection } from './connection/routed-connection.js'
export type { Statement, TransactionOptions } from './connection/statement.js'
export { formatLsn, type Lsn, normalizeInsertLsn, parseLsn, type WalLayout } from './consistency/lsn.js'
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
export { type FailoverLock, InProcessFailoverLock } from './failover/failover-lock.js'
export {
  type SessionHandlerOptions,
  sessionHandler,
  type TokenRequest,
  type TokenResponse,
} from './http/session-handler.js'
export type { Balancer, BalancerFunction, BalancerName, Candidate } from './routing/balancers/balancer.js'
export * from './routing/classify/index.js'
export * from './routing/intent.js'
export type { ClusterStatus, NodeStatus } from './status/cluster-status.js'
export type { NodeRole, NodeState } from './topology/node-state.js'
export { redact } from './util/redact.js'
