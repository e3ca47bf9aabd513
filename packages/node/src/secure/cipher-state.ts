import { type CipherGCM, createCipheriv, createDecipheriv, type DecipherGCM } from "node:crypto";
import { SecureError } from "./errors.js";

/**
 * Noise's cipher functions (§12.1, §12.3) and CipherState (§5.1) on node:crypto. Both ciphers
 * take a 256-bit key and a 96-bit nonce of 32 zero bits then the 64-bit counter: big-endian for
 * AESGCM (AES-256-GCM), little-endian for ChaChaPoly (ChaCha20-Poly1305). AESGCM is the faster
 * one on CPUs with AES instructions (about 1.6x here on 64 KiB frames); ChaChaPoly is for CPUs
 * without them, where AES in software is slow and not constant-time.
 */
export type NoiseCipher = "AESGCM" | "ChaChaPoly";
export const NOISE_CIPHERS: readonly NoiseCipher[] = ["AESGCM", "ChaChaPoly"];

const ALGORITHM: Record<NoiseCipher, "aes-256-gcm" | "chacha20-poly1305"> = {
  AESGCM: "aes-256-gcm",
  ChaChaPoly: "chacha20-poly1305",
};

export const TAGLEN = 16;
/** Largest Noise message (spec §3). */
export const MAX_NOISE_MESSAGE = 65535;
/**
 * Nonces are counted in a JS number: the cipher refuses to go past 2^53 - 1, far below the
 * spec's 2^64 - 1 limit, so a nonce can never repeat or wrap (the connection closes first).
 */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER;

/** Parts smaller than this are gathered before encryption (one cipher call for many). */
const GATHER_BELOW = 2048;
const ZEROS32 = Buffer.alloc(32);
/**
 * Where runs of small parts are gathered before one cipher call. Shared, but used only within one
 * synchronous call (cipher.update copies it out before returning), so it holds nothing between
 * calls and saves a 64 KiB allocation per frame.
 */
const GATHER = Buffer.allocUnsafe(MAX_NOISE_MESSAGE);

function authFailed(): SecureError {
  return new SecureError(
    "ERR_DECRYPT",
    "frame failed authentication (modified, replayed or reordered)",
  );
}

/** CipherState (§5.1): a cipher key and a 64-bit counter nonce. */
export class CipherState {
  readonly cipher: NoiseCipher;
  readonly #alg: "aes-256-gcm" | "chacha20-poly1305";
  readonly #bigEndian: boolean;
  #k: Buffer | undefined;
  #n = 0;
  // The 96-bit nonce, rewritten per message (node:crypto copies it into the cipher context).
  readonly #nonce = Buffer.alloc(12);
  // The received tag when it spans chunks, reused per frame (setAuthTag copies it).
  #tag: Buffer | undefined;

  constructor(cipher: NoiseCipher = "ChaChaPoly") {
    this.cipher = cipher;
    this.#alg = ALGORITHM[cipher];
    this.#bigEndian = cipher === "AESGCM";
  }

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
    const lo = n >>> 0;
    const hi = Math.floor(n / 0x100000000);
    if (this.#bigEndian) {
      this.#nonce.writeUInt32BE(hi, 4);
      this.#nonce.writeUInt32BE(lo, 8);
    } else {
      this.#nonce.writeUInt32LE(lo, 4);
      this.#nonce.writeUInt32LE(hi, 8);
    }
    return this.#nonce;
  }

  // Both AEADs have the same shape (setAAD, setAuthTag, getAuthTag): typed as GCM's.
  #cipher(k: Buffer): CipherGCM {
    return createCipheriv(this.#alg as "aes-256-gcm", k, this.#nextNonce(), {
      authTagLength: TAGLEN,
    });
  }

  #decipher(k: Buffer): DecipherGCM {
    return createDecipheriv(this.#alg as "aes-256-gcm", k, this.#nextNonce(), {
      authTagLength: TAGLEN,
    });
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
    const c = this.#cipher(k);
    let len = 0;
    for (const p of parts) len += p.length;
    if (ad.length > 0) c.setAAD(ad, { plaintextLength: len });
    if (parts.length === 1) {
      o += c.update(parts[0] as Buffer).copy(out, o);
    } else if (parts.length > 1) {
      // Many small chunks (coalesced messages): gather them in place, then one cipher call.
      for (const p of parts) o += p.copy(out, o);
      c.update(out.subarray(offset, o)).copy(out, offset);
    }
    c.final();
    o += c.getAuthTag().copy(out, o);
    return o - offset;
  }

  /**
   * Transport encryption (empty ad) of `parts` as one message, appended to `out` as ciphertext
   * pieces then the tag, for a vectored write: big parts are encrypted where they lie (no copy);
   * runs of small ones (coalesced messages) are gathered first, so the cipher is called a few
   * times, not per part.
   */
  encryptParts(parts: readonly Buffer[], out: Buffer[]): void {
    const k = this.#k;
    if (k === undefined) throw new SecureError("ERR_HANDSHAKE", "no transport key");
    let total = 0;
    for (const p of parts) total += p.length;
    if (total > MAX_NOISE_MESSAGE - TAGLEN)
      throw new SecureError("ERR_BAD_ARGUMENT", "transport message too large");
    const c = this.#cipher(k);
    // A run of small parts: the first one alone, or all of them copied into GATHER.
    let first: Buffer | undefined;
    let smallLen = 0;
    for (const p of parts) {
      if (p.length >= GATHER_BELOW) {
        if (smallLen > 0) out.push(c.update(first ?? GATHER.subarray(0, smallLen)));
        first = undefined;
        smallLen = 0;
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
    if (smallLen > 0) out.push(c.update(first ?? GATHER.subarray(0, smallLen)));
    c.final();
    out.push(c.getAuthTag());
  }

  /**
   * Transport decryption (empty ad) of one message held in `parts` (views of received chunks,
   * the tag last, `len` bytes in all): plaintext pieces, returned only once the tag checked.
   * ERR_DECRYPT otherwise, and the nonce is not consumed.
   */
  decryptParts(parts: readonly Buffer[], len: number): Buffer[] {
    const k = this.#k;
    if (k === undefined) throw new SecureError("ERR_HANDSHAKE", "no transport key");
    if (len < TAGLEN) throw new SecureError("ERR_DECRYPT", "ciphertext too short");
    const n = this.#n;
    const d = this.#decipher(k);
    const body = len - TAGLEN;
    const out: Buffer[] = [];
    if (parts.length === 1) {
      // The common case: the frame arrived in one chunk.
      const p = parts[0] as Buffer;
      d.setAuthTag(p.subarray(body));
      if (body > 0) out.push(d.update(p.subarray(0, body)));
    } else {
      this.#tag ??= Buffer.allocUnsafe(TAGLEN);
      const tag = this.#tag;
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
    }
    try {
      d.final();
    } catch {
      this.#n = n;
      throw authFailed();
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
    const d = this.#decipher(k);
    if (ad.length > 0) d.setAAD(ad, { plaintextLength: ciphertext.length - TAGLEN });
    d.setAuthTag(ciphertext.subarray(ciphertext.length - TAGLEN));
    const pt = d.update(ciphertext.subarray(0, ciphertext.length - TAGLEN));
    try {
      d.final();
    } catch {
      this.#n = n;
      throw authFailed();
    }
    return pt;
  }

  /**
   * REKEY (§4.2, §11.3): k = ENCRYPT(k, 2^64-1, empty, zeros)[0..32]. The nonce is all ones after
   * the 32 zero bits, the same in either byte order.
   */
  rekey(): void {
    const k = this.#k;
    if (k === undefined) return;
    const nonce = Buffer.alloc(12, 0xff);
    nonce.fill(0, 0, 4);
    const c = createCipheriv(this.#alg as "aes-256-gcm", k, nonce, { authTagLength: TAGLEN });
    this.#k = c.update(ZEROS32);
    c.final();
  }
}
