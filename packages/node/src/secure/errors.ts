import { type NodeErrorCode, P2pdNodeError } from "../errors.js";

/**
 * A secure-channel failure. Codes: ERR_DECRYPT (a frame failed authentication: modified,
 * replayed, reordered or truncated), ERR_PEER_AUTH (the far end could not prove the expected
 * key or node id), ERR_HANDSHAKE (malformed or unexpected handshake), ERR_HANDSHAKE_TIMEOUT,
 * ERR_HANDSHAKE_CLOSED (the connection ended during the handshake), ERR_NONCE_EXHAUSTED,
 * ERR_CLOSED, ERR_ABORTED, ERR_BAD_ARGUMENT.
 */
export class SecureError extends P2pdNodeError {
  constructor(code: NodeErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "SecureError";
  }
}
