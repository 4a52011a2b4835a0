export { operationName } from './attributes.js'
export { type CausewayOtelOptions, enableCausewayOtel, INSTRUMENTATION_NAME } from './causeway-otel.js'
