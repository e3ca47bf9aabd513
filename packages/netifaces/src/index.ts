export type { Endpoint, Family, RouteLike } from "./endpoint.js";
export { P2pdNetError } from "./errors.js";
