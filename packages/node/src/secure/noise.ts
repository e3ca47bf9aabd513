import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { CipherState, MAX_NOISE_MESSAGE, type NoiseCipher, TAGLEN } from "./cipher-state.js";
import { SecureError } from "./errors.js";

/**
 * The Noise Protocol Framework (revision 34, https://noiseprotocol.org/noise.html) on node:crypto
 * primitives: 25519 DH, AESGCM or ChaChaPoly (cipher-state.ts), SHA256 or BLAKE2b. SymmetricState
 * and HandshakeState follow the spec's §5 line by line; checked against the cacophony test vectors.
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
const EMPTY = Buffer.alloc(0);
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

/** SymmetricState (§5.2): chaining key, handshake hash and a CipherState. */
export class SymmetricState {
  readonly cs: CipherState;
  readonly #hash: HashSpec;
  ck: Buffer;
  h: Buffer;

  constructor(protocolName: string, hash: NoiseHash, cipher: NoiseCipher) {
    this.#hash = HASHES[hash];
    this.cs = new CipherState(cipher);
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
    const c1 = new CipherState(this.cs.cipher);
    const c2 = new CipherState(this.cs.cipher);
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
  /** The cipher function (default ChaChaPoly, the spec's usual one; p2pd's channel picks). */
  cipher?: NoiseCipher;
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
    const cipher = o.cipher ?? "ChaChaPoly";
    this.ss = new SymmetricState(`Noise_${o.pattern}_25519_${cipher}_${hash}`, hash, cipher);
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
