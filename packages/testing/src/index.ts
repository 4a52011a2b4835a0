export type { Availability } from './availability.js'
export type { ClusterNode } from './cluster-node.js'
export {
  containersAvailable,
  DEFAULT_IMAGE,
  ENV_ENGINE,
  ENV_IMAGE,
} from './container-runtime.js'
export { ENV_PRIMARY_URL, ENV_REPLICA_URLS } from './external-cluster.js'
export { haproxyAvailable, type StartHaproxyOptions, startHaproxy } from './haproxy.js'
export { HarnessError } from './harness-error.js'
export {
  type PatroniCluster,
  type PatroniLeader,
  patroniAvailable,
  type StartPatroniClusterOptions,
  startPatroniCluster,
} from './patroni-cluster.js'
export type { PatroniMember } from './patroni-member.js'
export type { PatroniClusterMember, PatroniClusterView } from './patroni-rest.js'
export type { StopMode } from './pg-server.js'
export { pgbouncerAvailable, type StartPgbouncerOptions, startPgbouncer } from './pgbouncer.js'
export { type Backend, backendOf, type RunningProxy } from './running-proxy.js'
export type { SettingValue } from './server-config.js'
export { type ClusterEngine, type StartClusterOptions, startCluster } from './start-cluster.js'
export {
  type MultiPrimaryTestCluster,
  type StartMultiPrimaryOptions,
  startMultiPrimary,
  type TestLink,
} from './start-multi-primary.js'
export type { AddReplicaOptions, TestCluster } from './test-cluster.js'
export {
  etcdAvailable,
  type StartEtcdServerOptions,
  startEtcdServer,
  type TestEtcd,
} from './test-etcd.js'
export { type WaitOptions, waitFor } from './wait-for.js'
