export { EtcdFailoverLock, type EtcdFailoverLockOptions } from './etcd-failover-lock.js'
