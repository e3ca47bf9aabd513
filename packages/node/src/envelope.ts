import {
  createCipheriv,
  createDecipheriv,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  sign,
  verify,
} from "node:crypto";
import { nodeIdOf } from "./address.js";
import { SignalError } from "./errors.js";
import { ecdh, ed25519Public, type NodeKeys, rawPublic } from "./keys.js";

/*
 * Signaling envelope, version 1 (all integers big-endian):
 *   0      u8   version = 1
 *   1..33       sender Ed25519 public key
 *   33..65      ephemeral X25519 public key (fresh per message)
 *   65..73 u64  sender timestamp, ms since the epoch
 *   73..85      12-byte random nonce (also the AEAD IV)
 *   85..n-64    ChaCha20-Poly1305(ciphertext || 16-byte tag), AAD = bytes 0..85
 *   n-64..n     Ed25519 signature over recipient X25519 key || bytes 0..n-64
 * key = HKDF-SHA256(ECDH(ephemeral, recipient X25519), salt = nonce,
 *                   info = "p2pd/signal/v1" || sender Ed25519 || ephemeral || recipient X25519)
 * The signature ties the message to the sender's node id (hash of its Ed25519 key) and to one
 * recipient; the timestamp window plus the nonce cache stop replays.
 */
export const ENVELOPE_VERSION = 1;
const HEADER = 85;
const TAG = 16;
const SIG = 64;
export const MAX_ENVELOPE = 16 * 1024;
const INFO = Buffer.from("p2pd/signal/v1");

export interface OpenedEnvelope {
  senderNodeId: string;
  senderEd25519: Uint8Array;
  timestamp: number;
  nonce: string;
  plaintext: Buffer;
}

function key(
  shared: Buffer,
  nonce: Uint8Array,
  senderEd: Uint8Array,
  eph: Uint8Array,
  rx: Uint8Array,
) {
  return Buffer.from(
    hkdfSync("sha256", shared, nonce, Buffer.concat([INFO, senderEd, eph, rx]), 32),
  );
}

/** Encrypts `plaintext` to the recipient's X25519 key and signs it with the sender's Ed25519 key. */
export function sealEnvelope(
  sender: NodeKeys,
  recipientX25519: Uint8Array,
  plaintext: Uint8Array,
  now = Date.now(),
): Buffer {
  const eph = generateKeyPairSync("x25519");
  const ephPub = rawPublic(eph.publicKey);
  const nonce = randomBytes(12);
  const header = Buffer.alloc(HEADER);
  header[0] = ENVELOPE_VERSION;
  header.set(sender.ed25519.publicKey, 1);
  header.set(ephPub, 33);
  header.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 65);
  header.set(nonce, 73);
  let shared: Buffer;
  try {
    shared = ecdh(eph.privateKey, recipientX25519);
  } catch (err) {
    throw new SignalError("ERR_SIGNAL_KEY", "bad recipient key", { cause: err });
  }
  const k = key(shared, nonce, sender.ed25519.publicKey, ephPub, recipientX25519);
  const c = createCipheriv("chacha20-poly1305", k, nonce, { authTagLength: TAG });
  c.setAAD(header, { plaintextLength: plaintext.length });
  const body = Buffer.concat([header, c.update(plaintext), c.final(), c.getAuthTag()]);
  if (body.length + SIG > MAX_ENVELOPE) throw new SignalError("ERR_SIGNAL_SIZE", "message too big");
  const sig = sign(null, Buffer.concat([recipientX25519, body]), sender.ed25519.privateKey);
  return Buffer.concat([body, sig]);
}

/**
 * Checks and decrypts an envelope addressed to `recipient`. Throws SignalError (never anything
 * else) when it is malformed, not signed by its claimed sender, not for us, or undecryptable.
 * Replay checks (timestamp window, nonce cache) are the caller's: see ReplayGuard.
 */
export function openEnvelope(recipient: NodeKeys, data: Uint8Array): OpenedEnvelope {
  if (!(data instanceof Uint8Array)) throw new SignalError("ERR_SIGNAL_FORMAT", "not bytes");
  if (data.length < HEADER + TAG + SIG || data.length > MAX_ENVELOPE)
    throw new SignalError("ERR_SIGNAL_FORMAT", `bad envelope size ${data.length}`);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf[0] !== ENVELOPE_VERSION)
    throw new SignalError("ERR_SIGNAL_FORMAT", `unknown envelope version ${buf[0]}`);
  const senderEd = buf.subarray(1, 33);
  const ephPub = buf.subarray(33, 65);
  const body = buf.subarray(0, buf.length - SIG);
  const sig = buf.subarray(buf.length - SIG);
  let ok = false;
  try {
    ok = verify(
      null,
      Buffer.concat([recipient.x25519.publicKey, body]),
      ed25519Public(senderEd),
      sig,
    );
  } catch {
    ok = false;
  }
  if (!ok) throw new SignalError("ERR_SIGNAL_AUTH", "bad signature");
  const nonce = buf.subarray(73, 85);
  let plaintext: Buffer;
  try {
    const shared = ecdh(recipient.x25519.privateKey, ephPub);
    const k = key(shared, nonce, senderEd, ephPub, recipient.x25519.publicKey);
    const d = createDecipheriv("chacha20-poly1305", k, nonce, { authTagLength: TAG });
    const ct = body.subarray(HEADER, body.length - TAG);
    d.setAAD(body.subarray(0, HEADER), { plaintextLength: ct.length });
    d.setAuthTag(body.subarray(body.length - TAG));
    plaintext = Buffer.concat([d.update(ct), d.final()]);
  } catch (err) {
    throw new SignalError("ERR_SIGNAL_DECRYPT", "cannot decrypt", { cause: err });
  }
  return {
    senderNodeId: nodeIdOf(senderEd),
    senderEd25519: Buffer.from(senderEd),
    timestamp: Number(buf.readBigUInt64BE(65)),
    nonce: nonce.toString("hex"),
    plaintext,
  };
}

/** Refuses envelopes outside the clock window or already seen (several brokers deliver copies). */
export class ReplayGuard {
  readonly #windowMs: number;
  readonly #seen = new Map<string, number>();
  constructor(windowMs = 120_000) {
    this.#windowMs = windowMs;
  }
  /** Throws ERR_SIGNAL_STALE / ERR_SIGNAL_REPLAY; otherwise records the nonce. */
  check(env: Pick<OpenedEnvelope, "timestamp" | "nonce" | "senderNodeId">, now = Date.now()): void {
    if (Math.abs(now - env.timestamp) > this.#windowMs)
      throw new SignalError("ERR_SIGNAL_STALE", "timestamp outside the replay window");
    for (const [k, t] of this.#seen) {
      if (now - t <= 2 * this.#windowMs) break;
      this.#seen.delete(k);
    }
    const id = `${env.senderNodeId}:${env.nonce}`;
    if (this.#seen.has(id)) throw new SignalError("ERR_SIGNAL_REPLAY", "already seen");
    this.#seen.set(id, now);
    // Bound memory under a flood: drop the oldest entries.
    if (this.#seen.size > 50_000) {
      const first = this.#seen.keys().next().value;
      if (first !== undefined) this.#seen.delete(first);
    }
  }
}
