export { type CausewayRouteOptions, withCauseway } from './with-causeway.js'
export { type CookieJar, cookieTokens, type TokenStore, withCausewayAction } from './with-causeway-action.js'
