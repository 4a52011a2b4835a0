export {
  CausewayDialect,
  type CausewayDialectConfig,
  type CausewayDialectOptions,
} from './causeway-dialect.js'
export { CausewayDriver } from './causeway-driver.js'
export { classifyCompiledQuery, classifyQuery } from './classify/index.js'
export { onPrimary } from './on-primary-plugin.js'
