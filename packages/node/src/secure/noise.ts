import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { SecureError } from "./errors.js";

/**
 * The Noise Protocol Framework (revision 34, https://noiseprotocol.org/noise.html) on node:crypto
 * primitives: 25519 DH, ChaChaPoly, SHA256 or BLAKE2b. CipherState, SymmetricState and
 * HandshakeState follow the spec's §5 line by line; checked against the cacophony test vectors.
 * Only what p2pd needs: patterns NN, IK, XX, no PSKs.
 */

export type NoiseHash = "SHA256" | "BLAKE2b";

interface HashSpec {
  alg: string;
  len: number;
}
const HASHES: Record<NoiseHash, HashSpec> = {
  SHA256: { alg: "sha256", len: 32 },
  BLAKE2b: { alg: "blake2b512", len: 64 },
};

export const DHLEN = 32;
export const TAGLEN = 16;
/** Largest Noise message (spec §3). */
export const MAX_NOISE_MESSAGE = 65535;
/**
 * Nonces are counted in a JS number: the cipher refuses to go past 2^53 - 1, far below the
 * spec's 2^64 - 1 limit, so a nonce can never repeat or wrap (the connection closes first).
 */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER;

const EMPTY = Buffer.alloc(0);
/** Parts smaller than this are gathered before encryption (one cipher call for many). */
const GATHER_BELOW = 2048;
const ZEROS32 = Buffer.alloc(32);
/**
 * Where runs of small parts are gathered before one cipher call. Shared, but used only within one
 * synchronous call (cipher.update copies it out before returning), so it holds nothing between
 * calls and saves a 64 KiB allocation per frame.
 */
const GATHER = Buffer.allocUnsafe(MAX_NOISE_MESSAGE);
const X25519_PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");

/** A 25519 key pair: the private key as a KeyObject, the public key raw (32 bytes). */
export interface KeyPair {
  privateKey: KeyObject;
  publicKey: Buffer;
}

// Keys cross node:crypto as JWK: an order of magnitude cheaper than DER import/export.
function rawOf(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: "jwk" }).x as string, "base64url");
}

/** A raw X25519 public key as a KeyObject. */
export function x25519Key(pub: Uint8Array): KeyObject {
  try {
    return createPublicKey({
      key: { kty: "OKP", crv: "X25519", x: Buffer.from(pub).toString("base64url") },
      format: "jwk",
    });
  } catch (cause) {
    throw new SecureError("ERR_HANDSHAKE", "bad X25519 public key", { cause });
  }
}

export function keyPairFromPrivate(raw: Uint8Array): KeyPair {
  const privateKey = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8, raw]),
    format: "der",
    type: "pkcs8",
  });
  return { privateKey, publicKey: rawOf(createPublicKey(privateKey)) };
}

export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  return { privateKey, publicKey: rawOf(publicKey) };
}

function dh(kp: KeyPair, pub: KeyObject): Buffer {
  try {
    return diffieHellman({ privateKey: kp.privateKey, publicKey: pub });
  } catch (cause) {
    // OpenSSL refuses low-order points (an all-zero shared secret).
    throw new SecureError("ERR_HANDSHAKE", "bad Diffie-Hellman public key", { cause });
  }
}

/** CipherState (§5.1): a ChaChaPoly key and a 64-bit counter nonce. */
export class CipherState {
  #k: Buffer | undefined;
  #n = 0;
  // 96-bit ChaChaPoly nonce: 32 zero bits then the counter, little-endian (§12.3).
  readonly #nonce = Buffer.alloc(12);
  // The received tag, reused per frame (setAuthTag copies it).
  #tag: Buffer | undefined;

  initializeKey(k: Buffer | undefined): void {
    this.#k = k;
    this.#n = 0;
  }

  hasKey(): boolean {
    return this.#k !== undefined;
  }

  get nonce(): number {
    return this.#n;
  }

  /** For tests only: start the counter elsewhere (e.g. close to the limit). */
  setNonce(n: number): void {
    this.#n = n;
  }

  #nextNonce(): Buffer {
    if (this.#n >= MAX_NONCE)
      throw new SecureError(
        "ERR_NONCE_EXHAUSTED",
        "nonce limit reached: the connection must close",
      );
    const n = this.#n++;
    this.#nonce.writeUInt32LE(n >>> 0, 4);
    this.#nonce.writeUInt32LE(Math.floor(n / 0x100000000), 8);
    return this.#nonce;
  }

  /**
   * ENCRYPT(k, n++, ad, plaintext). `parts` are concatenated as the plaintext, so a writev of
   * many chunks needs no copy; the ciphertext and tag are written into `out` at `offset`.
   */
  encryptInto(ad: Buffer, parts: readonly Buffer[], out: Buffer, offset: number): number {
    const k = this.#k;
    let o = offset;
    if (k === undefined) {
      for (const p of parts) o += p.copy(out, o);
      return o - offset;
    }
    const c = createCipheriv("chacha20-poly1305", k, this.#nextNonce(), { authTagLength: TAGLEN });
    let len = 0;
    for (const p of parts) len += p.length;
    if (ad.length > 0) c.setAAD(ad, { plaintextLength: len });
    if (parts.length === 1) {
      o += c.update(parts[0] as Buffer).copy(out, o);
    } else {
      // Many small chunks (coalesced messages): gather them in place, then one cipher call.
      for (const p of parts) o += p.copy(out, o);
      c.update(out.subarray(offset, o)).copy(out, offset);
    }
    c.final();
    o += c.getAuthTag().copy(out, o);
    return o - offset;
  }

  /**
   * Transport encryption (empty ad) of `parts` as one message, returned as ciphertext pieces then
   * the tag, for a vectored write: big parts are encrypted where they lie (no copy); runs of small
   * ones (coalesced messages) are gathered first, so the cipher is called a few times, not per part.
   */
  encryptParts(parts: readonly Buffer[]): Buffer[] {
    const k = this.#k;
    if (k === undefined) throw new SecureError("ERR_HANDSHAKE", "no transport key");
    let total = 0;
    for (const p of parts) total += p.length;
    if (total > MAX_NOISE_MESSAGE - TAGLEN)
      throw new SecureError("ERR_BAD_ARGUMENT", "transport message too large");
    const c = createCipheriv("chacha20-poly1305", k, this.#nextNonce(), { authTagLength: TAGLEN });
    const out: Buffer[] = [];
    // A run of small parts: the first one alone, or all of them copied into GATHER.
    let first: Buffer | undefined;
    let smallLen = 0;
    const gather = () => {
      if (smallLen > 0)
        out.push(c.update(first !== undefined ? first : GATHER.subarray(0, smallLen)));
      first = undefined;
      smallLen = 0;
    };
    for (const p of parts) {
      if (p.length >= GATHER_BELOW) {
        gather();
        out.push(c.update(p));
      } else if (p.length > 0) {
        if (smallLen === 0) first = p;
        else {
          if (first !== undefined) first.copy(GATHER, 0);
          first = undefined;
          p.copy(GATHER, smallLen);
        }
        smallLen += p.length;
      }
    }
    gather();
    c.final();
    out.push(c.getAuthTag());
    return out;
  }

  /**
   * Transport decryption (empty ad) of one message held in `parts` (views of received chunks,
   * the tag last): plaintext pieces, returned only once the tag checked. ERR_DECRYPT otherwise,
   * and the nonce is not consumed.
   */
  decryptParts(parts: readonly Buffer[], len: number): Buffer[] {
    const k = this.#k;
    if (k === undefined) throw new SecureError("ERR_HANDSHAKE", "no transport key");
    if (len < TAGLEN) throw new SecureError("ERR_DECRYPT", "ciphertext too short");
    const n = this.#n;
    const d = createDecipheriv("chacha20-poly1305", k, this.#nextNonce(), {
      authTagLength: TAGLEN,
    });
    this.#tag ??= Buffer.allocUnsafe(TAGLEN);
    const tag = this.#tag;
    const body = len - TAGLEN;
    const out: Buffer[] = [];
    let seen = 0;
    const pieces: Buffer[] = [];
    for (const p of parts) {
      // Split each part into its body share and its tag share.
      const inBody = Math.max(0, Math.min(p.length, body - seen));
      if (inBody > 0) pieces.push(inBody === p.length ? p : p.subarray(0, inBody));
      if (inBody < p.length) p.copy(tag, seen + inBody - body, inBody);
      seen += p.length;
    }
    d.setAuthTag(tag);
    for (const p of pieces) out.push(d.update(p));
    try {
      d.final();
    } catch {
      this.#n = n;
      throw new SecureError(
        "ERR_DECRYPT",
        "frame failed authentication (modified, replayed or reordered)",
      );
    }
    return out;
  }

  encryptWithAd(ad: Buffer, plaintext: Buffer): Buffer {
    const out = Buffer.allocUnsafe(plaintext.length + (this.#k ? TAGLEN : 0));
    this.encryptInto(ad, [plaintext], out, 0);
    return out;
  }

  /** DECRYPT(k, n++, ad, ciphertext): throws ERR_DECRYPT (and the nonce is not consumed). */
  decryptWithAd(ad: Buffer, ciphertext: Buffer): Buffer {
    const k = this.#k;
    if (k === undefined) return ciphertext;
    if (ciphertext.length < TAGLEN) throw new SecureError("ERR_DECRYPT", "ciphertext too short");
    const n = this.#n;
    const d = createDecipheriv("chacha20-poly1305", k, this.#nextNonce(), {
      authTagLength: TAGLEN,
    });
    if (ad.length > 0) d.setAAD(ad, { plaintextLength: ciphertext.length - TAGLEN });
    d.setAuthTag(ciphertext.subarray(ciphertext.length - TAGLEN));
    const pt = d.update(ciphertext.subarray(0, ciphertext.length - TAGLEN));
    try {
      d.final();
    } catch {
      this.#n = n;
      throw new SecureError(
        "ERR_DECRYPT",
        "frame failed authentication (modified, replayed or reordered)",
      );
    }
    return pt;
  }

  /** REKEY (§4.2, §11.3): k = ENCRYPT(k, 2^64-1, empty, zeros)[0..32]. */
  rekey(): void {
    const k = this.#k;
    if (k === undefined) return;
    const nonce = Buffer.alloc(12, 0xff);
    nonce.fill(0, 0, 4);
    const c = createCipheriv("chacha20-poly1305", k, nonce, { authTagLength: TAGLEN });
    this.#k = c.update(ZEROS32);
    c.final();
  }
}

/** SymmetricState (§5.2): chaining key, handshake hash and a CipherState. */
export class SymmetricState {
  readonly cs = new CipherState();
  readonly #hash: HashSpec;
  ck: Buffer;
  h: Buffer;

  constructor(protocolName: string, hash: NoiseHash) {
    this.#hash = HASHES[hash];
    const name = Buffer.from(protocolName, "ascii");
    if (name.length <= this.#hash.len) {
      this.h = Buffer.alloc(this.#hash.len);
      name.copy(this.h);
    } else {
      this.h = this.#digest(name);
    }
    this.ck = this.h;
  }

  #digest(...data: Buffer[]): Buffer {
    const h = createHash(this.#hash.alg);
    for (const d of data) h.update(d);
    return h.digest();
  }

  #hmac(key: Buffer, ...data: Buffer[]): Buffer {
    const m = createHmac(this.#hash.alg, key);
    for (const d of data) m.update(d);
    return m.digest();
  }

  /** HKDF (§4.3) with two outputs. */
  hkdf2(ck: Buffer, ikm: Buffer): [Buffer, Buffer] {
    const temp = this.#hmac(ck, ikm);
    const o1 = this.#hmac(temp, Buffer.of(1));
    const o2 = this.#hmac(temp, o1, Buffer.of(2));
    return [o1, o2];
  }

  mixKey(ikm: Buffer): void {
    const [ck, tempK] = this.hkdf2(this.ck, ikm);
    this.ck = ck;
    this.cs.initializeKey(tempK.subarray(0, 32));
  }

  mixHash(data: Buffer): void {
    this.h = this.#digest(this.h, data);
  }

  encryptAndHash(plaintext: Buffer): Buffer {
    const ct = this.cs.encryptWithAd(this.h, plaintext);
    this.mixHash(ct);
    return ct;
  }

  decryptAndHash(ciphertext: Buffer): Buffer {
    const pt = this.cs.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return pt;
  }

  split(): [CipherState, CipherState] {
    const [k1, k2] = this.hkdf2(this.ck, EMPTY);
    const c1 = new CipherState();
    const c2 = new CipherState();
    c1.initializeKey(Buffer.from(k1.subarray(0, 32)));
    c2.initializeKey(Buffer.from(k2.subarray(0, 32)));
    return [c1, c2];
  }
}

type Token = "e" | "s" | "ee" | "es" | "se" | "ss";
export type PatternName = "NN" | "IK" | "XX";

interface Pattern {
  /** Pre-message: the responder's static key is known to the initiator (IK). */
  preResponderS: boolean;
  messages: Token[][];
}
const PATTERNS: Record<PatternName, Pattern> = {
  NN: { preResponderS: false, messages: [["e"], ["e", "ee"]] },
  IK: {
    preResponderS: true,
    messages: [
      ["e", "es", "s", "ss"],
      ["e", "ee", "se"],
    ],
  },
  XX: { preResponderS: false, messages: [["e"], ["e", "ee", "s", "es"], ["s", "se"]] },
};

export interface HandshakeOptions {
  pattern: PatternName;
  initiator: boolean;
  hash?: NoiseHash;
  prologue?: Buffer;
  /** Our static key pair (IK, XX). */
  s?: KeyPair;
  /** Our ephemeral key pair: fixed only by test vectors; generated otherwise. */
  e?: KeyPair;
  /** The responder's static public key, known in advance (IK initiator). */
  rs?: Buffer;
}

/** HandshakeState (§5.3) for one pattern; `split()` once `complete`. */
export class HandshakeState {
  readonly ss: SymmetricState;
  readonly initiator: boolean;
  readonly #messages: Token[][];
  #s: KeyPair | undefined;
  #e: KeyPair | undefined;
  rs: Buffer | undefined;
  re: Buffer | undefined;
  // Imported once, used by two DH tokens each.
  #rsKey: KeyObject | undefined;
  #reKey: KeyObject | undefined;
  #step = 0;
  #result: [CipherState, CipherState] | undefined;

  constructor(o: HandshakeOptions) {
    const hash = o.hash ?? "SHA256";
    const p = PATTERNS[o.pattern];
    this.ss = new SymmetricState(`Noise_${o.pattern}_25519_ChaChaPoly_${hash}`, hash);
    this.initiator = o.initiator;
    this.#messages = p.messages;
    this.#s = o.s;
    this.#e = o.e;
    this.rs = o.rs ? Buffer.from(o.rs) : undefined;
    this.ss.mixHash(o.prologue ?? EMPTY);
    if (o.pattern !== "NN" && !o.s)
      throw new SecureError("ERR_BAD_ARGUMENT", "a static key is needed");
    if (p.preResponderS) {
      const rsKey = o.initiator ? this.rs : o.s?.publicKey;
      if (!rsKey || rsKey.length !== DHLEN)
        throw new SecureError("ERR_BAD_ARGUMENT", "IK needs the responder's 32-byte static key");
      this.ss.mixHash(rsKey);
    }
  }

  get complete(): boolean {
    return this.#step >= this.#messages.length;
  }

  /** Whose turn it is: true when we write the next message. */
  get writing(): boolean {
    return (this.#step % 2 === 0) === this.initiator;
  }

  /** The handshake hash (channel binding), valid once complete. */
  get hash(): Buffer {
    return this.ss.h;
  }

  #dh(token: Token): Buffer {
    const need = (k: KeyPair | Buffer | undefined, what: string) => {
      if (!k) throw new SecureError("ERR_HANDSHAKE", `missing ${what} key`);
      return k;
    };
    const e = () => need(this.#e, "ephemeral") as KeyPair;
    const s = () => need(this.#s, "static") as KeyPair;
    const re = () => {
      this.#reKey ??= x25519Key(need(this.re, "remote ephemeral") as Buffer);
      return this.#reKey;
    };
    const rs = () => {
      this.#rsKey ??= x25519Key(need(this.rs, "remote static") as Buffer);
      return this.#rsKey;
    };
    switch (token) {
      case "ee":
        return dh(e(), re());
      case "ss":
        return dh(s(), rs());
      case "es":
        return this.initiator ? dh(e(), rs()) : dh(s(), re());
      default: // "se"
        return this.initiator ? dh(s(), re()) : dh(e(), rs());
    }
  }

  #finish(): void {
    this.#step++;
    if (this.complete) this.#result = this.ss.split();
  }

  writeMessage(payload: Buffer): Buffer {
    if (this.complete || !this.writing)
      throw new SecureError("ERR_HANDSHAKE", "not our turn to write a handshake message");
    const out: Buffer[] = [];
    for (const t of this.#messages[this.#step] as Token[]) {
      if (t === "e") {
        this.#e ??= generateKeyPair();
        out.push(this.#e.publicKey);
        this.ss.mixHash(this.#e.publicKey);
      } else if (t === "s") {
        out.push(this.ss.encryptAndHash((this.#s as KeyPair).publicKey));
      } else {
        this.ss.mixKey(this.#dh(t));
      }
    }
    out.push(this.ss.encryptAndHash(payload));
    this.#finish();
    const msg = Buffer.concat(out);
    if (msg.length > MAX_NOISE_MESSAGE)
      throw new SecureError("ERR_HANDSHAKE", "handshake message too large");
    return msg;
  }

  /** Reads the peer's next message; any failure is ERR_HANDSHAKE / ERR_DECRYPT. */
  readMessage(msg: Buffer): Buffer {
    if (this.complete || this.writing)
      throw new SecureError("ERR_HANDSHAKE", "unexpected handshake message");
    let o = 0;
    const take = (n: number) => {
      if (msg.length - o < n) throw new SecureError("ERR_HANDSHAKE", "handshake message too short");
      const b = msg.subarray(o, o + n);
      o += n;
      return b;
    };
    for (const t of this.#messages[this.#step] as Token[]) {
      if (t === "e") {
        this.re = Buffer.from(take(DHLEN));
        this.ss.mixHash(this.re);
      } else if (t === "s") {
        this.rs = Buffer.from(
          this.ss.decryptAndHash(take(DHLEN + (this.ss.cs.hasKey() ? TAGLEN : 0))),
        );
      } else {
        this.ss.mixKey(this.#dh(t));
      }
    }
    const payload = this.ss.decryptAndHash(msg.subarray(o));
    this.#finish();
    return payload;
  }

  /** The transport ciphers, once complete: [ours to send, ours to receive]. */
  split(): { send: CipherState; recv: CipherState } {
    if (!this.#result) throw new SecureError("ERR_HANDSHAKE", "handshake not complete");
    const [c1, c2] = this.#result;
    return this.initiator ? { send: c1, recv: c2 } : { send: c2, recv: c1 };
  }
}
