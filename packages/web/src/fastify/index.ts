export { type CausewayFastifyOptions, causeway } from './causeway-plugin.js'
