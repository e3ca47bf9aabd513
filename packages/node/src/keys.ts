import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { nodeIdOf } from "./address.js";
import { P2pdNodeError } from "./errors.js";

// PKCS#8 DER prefixes for raw 32-byte X25519 / Ed25519 private keys (RFC 8410).
const X25519_PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");
const ED25519_PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");
// SPKI prefixes for raw 32-byte public keys.
const X25519_SPKI = Buffer.from("302a300506032b656e032100", "hex");
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex");

/** A node's long-term identity: an X25519 key to receive encrypted signals, an Ed25519 key to sign. */
export interface NodeKeys {
  nodeId: string;
  x25519: { privateKey: KeyObject; publicKey: Uint8Array };
  ed25519: { privateKey: KeyObject; publicKey: Uint8Array };
}

export function x25519Private(raw: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([X25519_PKCS8, raw]),
    format: "der",
    type: "pkcs8",
  });
}

export function x25519Public(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([X25519_SPKI, raw]), format: "der", type: "spki" });
}

export function ed25519Public(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI, raw]), format: "der", type: "spki" });
}

export function rawPublic(key: KeyObject): Uint8Array {
  // The last 32 bytes of the SPKI DER are the raw key.
  return key.export({ format: "der", type: "spki" }).subarray(-32);
}

/**
 * Derives a node identity from a seed (same seed, same node id and keys: a stable address and
 * name across restarts). Without a seed a random one is used.
 */
export function deriveKeys(seed?: Uint8Array): NodeKeys {
  const s = seed ?? randomBytes(32);
  if (s.length < 16) throw new P2pdNodeError("ERR_BAD_SEED", "seed must be at least 16 bytes");
  const okm = Buffer.from(hkdfSync("sha256", s, "p2pd-node-keys", "p2pd/v1 identity", 64));
  const xPriv = x25519Private(okm.subarray(0, 32));
  const edPriv = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8, okm.subarray(32, 64)]),
    format: "der",
    type: "pkcs8",
  });
  const edPub = rawPublic(createPublicKey(edPriv));
  const xPub = rawPublic(createPublicKey(xPriv));
  return {
    nodeId: nodeIdOf(edPub, xPub),
    x25519: { privateKey: xPriv, publicKey: xPub },
    ed25519: { privateKey: edPriv, publicKey: edPub },
  };
}

export function ecdh(privateKey: KeyObject, publicRaw: Uint8Array): Buffer {
  return diffieHellman({ privateKey, publicKey: x25519Public(publicRaw) });
}
