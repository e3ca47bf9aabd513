export {
  type ConInfo,
  P2pdClient,
  P2pdClientError,
  type P2pdClientOptions,
  type RecvOptions,
  type SubOptions,
} from "./client.js";
export { Connection, MAX_QUEUE, MAX_SUBS, type RestPipe } from "./connection.js";
export {
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
  REST_ERROR_CODES,
  RestError,
  type RestErrorCode,
} from "./errors.js";
export { buildOpenApi } from "./openapi.js";
export { checkRegexCost, MATCH_PREFIX, MAX_REGEX } from "./regex-guard.js";
export { buildPath, matchRoute, ROUTES, type RouteDef } from "./routes.js";
export { isLoopbackListen } from "./security.js";
export { type RestNode, RestServer, type RestServerOptions } from "./server.js";
export { HTTP_STATUS_BY_CODE, httpStatusFor } from "./status.js";
