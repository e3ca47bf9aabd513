export { P2pdNetError } from "./errors.js";
export const PACKAGE = "@p2pd/netifaces";
