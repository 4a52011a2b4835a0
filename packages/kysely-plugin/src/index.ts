export { CausewayConnection } from './causeway-connection.js'
export {
  CausewayDialect,
  type CausewayDialectConfig,
  type CausewayDialectOptions,
} from './causeway-dialect.js'
export { CausewayDriver } from './causeway-driver.js'
export { classifyQuery } from './classify/index.js'
export { classifyCompiledQuery } from './classify-compiled-query.js'
export { onPrimary } from './on-primary-plugin.js'
