export { type CausewayExpressOptions, causeway } from './causeway-middleware.js'
