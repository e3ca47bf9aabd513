/**
 * Public STUN servers known to run stuntman with RFC 5780 (OTHER-ADDRESS, CHANGE-REQUEST), used
 * by `p2pd nat` when no --stun is given. Nothing in this package contacts them on its own;
 * tests always pass their own servers.
 */
export const PUBLIC_RFC5780_SERVERS: readonly string[] = Object.freeze([
  "stun.stunprotocol.org:3478",
]);
