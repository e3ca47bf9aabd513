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
 * Signaling envelope, version 2 (all integers big-endian):
 *   0      u8   version = 2
 *   1..33       ephemeral X25519 public key (fresh per message)
 *   33..41 u64  sender timestamp, ms since the epoch
 *   41..53      12-byte random nonce (also the AEAD IV)
 *   53..n       ChaCha20-Poly1305(sender Ed25519 (32) || sender X25519 (32) || signature (64)
 *               || plaintext) || tag, AAD = bytes 0..53
 * key = HKDF-SHA256(ECDH(ephemeral, recipient X25519), salt = nonce,
 *                   info = "p2pd/signal/v2" || ephemeral || recipient X25519)
 * signature = Ed25519 over "p2pd/signal/v2" || recipient X25519 || bytes 0..53 || sender X25519
 *             || plaintext.
 * The sender's key travels inside the encryption: a broker sees who receives, not who sends.
 * The signature ties the message to the sender's node id and to one recipient; the timestamp
 * window plus the nonce cache stop replays. Version 1 (sender key in the clear, node id over the
 * Ed25519 key only) is refused: its node ids differ anyway.
 */
export const ENVELOPE_VERSION = 2;
const HEADER = 53;
const TAG = 16;
const SIG = 64;
/** Sender Ed25519 key, sender X25519 key, signature. */
const INNER = 32 + 32 + SIG;
export const MAX_ENVELOPE = 16 * 1024;
const INFO = Buffer.from("p2pd/signal/v2");

export interface OpenedEnvelope {
  senderNodeId: string;
  senderEd25519: Uint8Array;
  senderX25519: Uint8Array;
  timestamp: number;
  nonce: string;
  plaintext: Buffer;
}

function key(shared: Buffer, nonce: Uint8Array, eph: Uint8Array, rx: NodeKeys | Uint8Array) {
  const rxPub = rx instanceof Uint8Array ? rx : rx.x25519.publicKey;
  return Buffer.from(hkdfSync("sha256", shared, nonce, Buffer.concat([INFO, eph, rxPub]), 32));
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
  header.set(ephPub, 1);
  header.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 33);
  header.set(nonce, 41);
  if (HEADER + INNER + plaintext.length + TAG > MAX_ENVELOPE)
    throw new SignalError("ERR_SIGNAL_SIZE", "message too big");
  let shared: Buffer;
  try {
    shared = ecdh(eph.privateKey, recipientX25519);
  } catch (err) {
    throw new SignalError("ERR_SIGNAL_KEY", "bad recipient key", { cause: err });
  }
  const senderX = sender.x25519.publicKey;
  const sig = sign(
    null,
    Buffer.concat([INFO, recipientX25519, header, senderX, plaintext]),
    sender.ed25519.privateKey,
  );
  const inner = Buffer.concat([sender.ed25519.publicKey, senderX, sig, plaintext]);
  const k = key(shared, nonce, ephPub, recipientX25519);
  const c = createCipheriv("chacha20-poly1305", k, nonce, { authTagLength: TAG });
  c.setAAD(header, { plaintextLength: inner.length });
  return Buffer.concat([header, c.update(inner), c.final(), c.getAuthTag()]);
}

/**
 * Checks and decrypts an envelope addressed to `recipient`. Throws SignalError (never anything
 * else) when it is malformed, not for us, undecryptable, or not signed by the sender it names.
 * Replay checks (timestamp window, nonce cache) are the caller's: see ReplayGuard.
 */
export function openEnvelope(recipient: NodeKeys, data: Uint8Array): OpenedEnvelope {
  if (!(data instanceof Uint8Array)) throw new SignalError("ERR_SIGNAL_FORMAT", "not bytes");
  if (data.length < HEADER + INNER + TAG || data.length > MAX_ENVELOPE)
    throw new SignalError("ERR_SIGNAL_FORMAT", `bad envelope size ${data.length}`);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf[0] !== ENVELOPE_VERSION)
    throw new SignalError("ERR_SIGNAL_FORMAT", `unknown envelope version ${buf[0]}`);
  const header = buf.subarray(0, HEADER);
  const ephPub = buf.subarray(1, 33);
  const nonce = buf.subarray(41, 53);
  let inner: Buffer;
  try {
    const shared = ecdh(recipient.x25519.privateKey, ephPub);
    const d = createDecipheriv("chacha20-poly1305", key(shared, nonce, ephPub, recipient), nonce, {
      authTagLength: TAG,
    });
    const ct = buf.subarray(HEADER, buf.length - TAG);
    d.setAAD(header, { plaintextLength: ct.length });
    d.setAuthTag(buf.subarray(buf.length - TAG));
    inner = Buffer.concat([d.update(ct), d.final()]);
  } catch (err) {
    throw new SignalError("ERR_SIGNAL_DECRYPT", "cannot decrypt", { cause: err });
  }
  const senderEd = inner.subarray(0, 32);
  const senderX = inner.subarray(32, 64);
  const sig = inner.subarray(64, INNER);
  const plaintext = inner.subarray(INNER);
  let ok = false;
  try {
    const signed = Buffer.concat([INFO, recipient.x25519.publicKey, header, senderX, plaintext]);
    ok = verify(null, signed, ed25519Public(senderEd), sig);
  } catch {
    ok = false;
  }
  if (!ok) throw new SignalError("ERR_SIGNAL_AUTH", "bad signature");
  return {
    senderNodeId: nodeIdOf(senderEd, senderX),
    senderEd25519: Buffer.from(senderEd),
    senderX25519: Buffer.from(senderX),
    timestamp: Number(buf.readBigUInt64BE(33)),
    nonce: nonce.toString("hex"),
    plaintext: Buffer.from(plaintext),
  };
}

/**
 * Refuses envelopes outside the clock window or already seen (several brokers deliver copies).
 * An entry is kept for as long as its envelope could still pass the clock check (2 windows after
 * arrival), so it is never forgotten early: when `maxEntries` live entries exist, new envelopes
 * are refused (ERR_SIGNAL_RATE) rather than an old one evicted (which would make it replayable).
 */
export class ReplayGuard {
  readonly #windowMs: number;
  readonly #max: number;
  readonly #seen = new Map<string, number>();
  constructor(windowMs = 120_000, maxEntries = 50_000) {
    this.#windowMs = windowMs;
    this.#max = maxEntries;
  }
  get size(): number {
    return this.#seen.size;
  }
  /** Throws ERR_SIGNAL_STALE / ERR_SIGNAL_REPLAY / ERR_SIGNAL_RATE; otherwise records the nonce. */
  check(env: Pick<OpenedEnvelope, "timestamp" | "nonce" | "senderNodeId">, now = Date.now()): void {
    if (Math.abs(now - env.timestamp) > this.#windowMs)
      throw new SignalError("ERR_SIGNAL_STALE", "timestamp outside the replay window");
    // Insertion order is arrival order: expired entries are at the front.
    for (const [k, t] of this.#seen) {
      if (now - t <= 2 * this.#windowMs) break;
      this.#seen.delete(k);
    }
    const id = `${env.senderNodeId}:${env.nonce}`;
    if (this.#seen.has(id)) throw new SignalError("ERR_SIGNAL_REPLAY", "already seen");
    if (this.#seen.size >= this.#max)
      throw new SignalError("ERR_SIGNAL_RATE", "replay cache full: refused, not forgotten");
    this.#seen.set(id, now);
  }
}
