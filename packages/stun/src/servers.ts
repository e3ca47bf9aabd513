/**
 * Well-known public STUN servers (UDP, Binding only, no CHANGE-REQUEST), as data for callers that want a
 * default, e.g. `getExternalAddress(PUBLIC_STUN_SERVERS, { minAgree: 2 })`. Nothing in this package
 * contacts them on its own; pass your own list to use others. Two operators, so agreement means something.
 */
export const PUBLIC_STUN_SERVERS: readonly string[] = Object.freeze([
  "stun.l.google.com:19302",
  "stun1.l.google.com:19302",
  "stun2.l.google.com:19302",
  "stun.cloudflare.com:3478",
]);
