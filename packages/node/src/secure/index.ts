export { MAX_FRAME_PLAINTEXT, type SecureOptions, SecureStream, secureStream } from "./channel.js";
export type { NoiseCipher } from "./cipher-state.js";
export { helloFor, type SecureRole, secureConnection } from "./connection.js";
export { SecureError } from "./errors.js";
export { type SecureIdentity, type SecurePeer, secureIdentity } from "./identity.js";
export { HANDSHAKE_TIMEOUT, handshakeTimeoutMs } from "./timeout.js";
export { type SecureTransportOptions, secureTransport } from "./transport.js";
