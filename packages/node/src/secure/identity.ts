import { createPublicKey, sign, verify } from "node:crypto";
import { nodeIdOf } from "../address.js";
import type { NodeKeys } from "../keys.js";
import type { NoiseCipher } from "./cipher-state.js";
import { SecureError } from "./errors.js";
import type { KeyPair } from "./noise.js";

/**
 * The handshake payload that binds a Noise static key to a node id, as libp2p-noise does: the
 * node's Ed25519 public key (whose hash is the node id) and its signature over the Noise static
 * key. Layout: version (1) | Ed25519 public key (32) | signature (64) | ignored extensions.
 */
export const PAYLOAD_VERSION = 1;
export const PAYLOAD_BYTES = 1 + 32 + 64;
const SIG_CONTEXT = Buffer.from("p2pd-noise-static-key:", "ascii");

/** A node's handshake credentials: its X25519 node key as the Noise static key, signed once. */
export interface SecureIdentity {
  nodeId: string;
  staticKey: KeyPair;
  payload: Buffer;
  /** The cipher this node asks for when it initiates (undefined: AESGCM). */
  cipher?: NoiseCipher;
}

/** What the handshake proved about the far end. */
export interface SecurePeer {
  /** Verified node id (sha256 of the Ed25519 key that signed the Noise static key, and of that key). */
  nodeId: string;
  ed25519: Uint8Array;
  /** The peer's Noise static key (its X25519 node key). */
  x25519: Uint8Array;
  /** The Noise pattern that ran: IK when the dialer knew the key, XX otherwise. */
  pattern: "IK" | "XX";
  /** The Noise cipher that ran: the initiator's choice. */
  cipher: NoiseCipher;
}

/**
 * A node's handshake credentials. `cipher` picks what it asks for as the initiator: AESGCM
 * (default) or ChaChaPoly (for CPUs without AES instructions); as a responder it accepts both.
 */
export function secureIdentity(
  keys: NodeKeys,
  opts: { cipher?: NoiseCipher } = {},
): SecureIdentity {
  const pub = Buffer.from(keys.x25519.publicKey);
  const sig = sign(null, Buffer.concat([SIG_CONTEXT, pub]), keys.ed25519.privateKey);
  const payload = Buffer.concat([
    Buffer.of(PAYLOAD_VERSION),
    Buffer.from(keys.ed25519.publicKey),
    sig,
  ]);
  return {
    nodeId: keys.nodeId,
    staticKey: { privateKey: keys.x25519.privateKey, publicKey: pub },
    payload,
    ...(opts.cipher ? { cipher: opts.cipher } : {}),
  };
}

/** Checks a peer's payload against the static key the handshake proved; ERR_PEER_AUTH if not. */
export function verifyPayload(
  payload: Buffer,
  remoteStatic: Buffer,
): { nodeId: string; ed25519: Uint8Array } {
  if (payload.length < PAYLOAD_BYTES || payload[0] !== PAYLOAD_VERSION)
    throw new SecureError("ERR_PEER_AUTH", "peer sent no node identity in the handshake");
  const ed = Buffer.from(payload.subarray(1, 33));
  const sig = payload.subarray(33, 97);
  let ok = false;
  try {
    const key = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: ed.toString("base64url") },
      format: "jwk",
    });
    ok = verify(null, Buffer.concat([SIG_CONTEXT, remoteStatic]), key, sig);
  } catch {
    ok = false;
  }
  if (!ok) throw new SecureError("ERR_PEER_AUTH", "peer's node key did not sign its Noise key");
  // The node id hashes both keys: the Noise static key is the X25519 half.
  return { nodeId: nodeIdOf(ed, remoteStatic), ed25519: ed };
}
