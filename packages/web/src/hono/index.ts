export { type CausewayHonoOptions, causeway } from './causeway-middleware.js'
