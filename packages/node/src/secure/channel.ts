import { Socket } from "node:net";
import { Duplex } from "node:stream";
import type { NodeKeys } from "../keys.js";
import {
  type CipherState,
  MAX_NOISE_MESSAGE,
  NOISE_CIPHERS,
  type NoiseCipher,
  TAGLEN,
} from "./cipher-state.js";
import { SecureError } from "./errors.js";
import { FrameReader, frameOf } from "./frames.js";
import { type SecureIdentity, type SecurePeer, secureIdentity, verifyPayload } from "./identity.js";
import { HandshakeState } from "./noise.js";
import { RekeyCounter, type RekeyThresholds } from "./rekey.js";
import { handshakeTimeoutMs } from "./timeout.js";
import { FrameWriter } from "./writer.js";

/**
 * Wire format (libp2p-noise's): every Noise message, handshake or transport, is a 2-byte
 * big-endian length then that many bytes (at most 65535), so a length can never ask for more
 * than 64 KiB. The initiator's first message starts with a header byte, the pattern in its low
 * nibble (1 = IK, 2 = XX) and the cipher in its high one (0 = ChaChaPoly, 1 = AESGCM): 0x11 is
 * Noise_IK_25519_AESGCM_SHA256. The byte is mixed into the prologue (and the protocol name
 * differs), so a middlebox that changes it breaks the handshake instead of downgrading it. The
 * initiator picks the cipher; a responder accepts either. A responder that cannot decrypt an IK
 * first message (not its key) answers an empty frame: the dialer then fails with ERR_PEER_AUTH.
 * After the handshake, a transport frame with an empty plaintext is the authenticated end of
 * the stream; the stream ending without it is ERR_TRUNCATED.
 *
 * Rekey (Noise §11.3, REKEY(k) of §4.2) is implicit and in step: each direction's key is replaced
 * after every REKEY_FRAMES frames or once REKEY_BYTES bytes went under it, counted by the sender
 * after it encrypts a frame and by the receiver after that frame authenticates, so both ends switch
 * at the same frame with no message about it. A frame under an old key then fails with ERR_DECRYPT.
 * Rekey does not reset the nonce (spec): the channel still closes with ERR_NONCE_EXHAUSTED
 * before a nonce could wrap. These thresholds are part of protocol version 1 (the prologue).
 */
const PROLOGUE = "p2pd-noise/1:";
const PATTERN_IK = 1;
const PATTERN_XX = 2;
const HELLO = 3;
const CIPHER_CODE: Record<NoiseCipher, number> = { ChaChaPoly: 0, AESGCM: 1 };
/** The cipher an initiator picks unless told: AES-256-GCM (hardware AES is the common case). */
export const DEFAULT_CIPHER: NoiseCipher = "AESGCM";

/** The first message's header byte: pattern and cipher. */
function headerByte(pattern: "IK" | "XX", cipher: NoiseCipher): number {
  return (pattern === "IK" ? PATTERN_IK : PATTERN_XX) | (CIPHER_CODE[cipher] << 4);
}

/** Pattern and cipher from a header byte; ERR_HANDSHAKE for any other byte. */
function parseHeader(b: number | undefined): { pattern: "IK" | "XX"; cipher: NoiseCipher } {
  const p = (b ?? 0) & 0x0f;
  const cipher = NOISE_CIPHERS.find((c) => CIPHER_CODE[c] === (b ?? 0) >> 4);
  if (p !== PATTERN_IK && p !== PATTERN_XX)
    throw new SecureError("ERR_HANDSHAKE", "peer did not start a p2pd Noise handshake");
  if (cipher === undefined)
    throw new SecureError("ERR_HANDSHAKE", `peer asked for an unknown cipher (header ${b})`);
  return { pattern: p === PATTERN_IK ? "IK" : "XX", cipher };
}
/** A hello is exactly this long (a hash of the attempt id), so it never looks like a handshake message. */
export const HELLO_BYTES = 16;
/** Plaintext bytes per transport frame. */
export const MAX_FRAME_PLAINTEXT = MAX_NOISE_MESSAGE - TAGLEN;
const EMPTY = Buffer.alloc(0);

export interface SecureOptions {
  /** Our node's keys (or its precomputed SecureIdentity, signed once). */
  identity: NodeKeys | SecureIdentity;
  /** The Noise initiator: always the logical dialer, whatever the transport's direction. */
  initiator: boolean;
  /**
   * Initiator only: who we dialed. With `x25519` (a v3 address carries it) the handshake is IK;
   * without it, XX. `nodeId`, when given, must be proven by the far end (else ERR_PEER_AUTH).
   */
  expect?: { nodeId?: string; x25519?: Uint8Array };
  /**
   * Initiator only: the Noise cipher to ask for (default: the identity's, else AESGCM).
   * ChaChaPoly is faster on CPUs without AES instructions. A responder accepts either.
   */
  cipher?: NoiseCipher;
  /** A measured round-trip time to the peer: the handshake timeout is derived from it. */
  rttMs?: number;
  /** Overrides the derived handshake timeout. */
  timeoutMs?: number;
  /**
   * Responder that opened the transport (reverse connect: the logical dialer accepted it): sent
   * first, as a "you initiate" frame (pattern byte 3), so the far end starts the handshake.
   */
  hello?: Buffer;
  /**
   * Responder that accepted the transport: when the far end sends a hello instead of a
   * handshake, this says who the far end must be (the attempt the hello names) and we become the
   * initiator; undefined refuses (ERR_HANDSHAKE).
   */
  onHello?: (hello: Buffer) => { nodeId?: string; x25519?: Uint8Array } | undefined;
  /** Plaintext bytes per frame (smaller for message transports with small messages). */
  maxFramePlaintext?: number;
  /**
   * @internal Tests only: other rekey thresholds (default REKEY_FRAMES, REKEY_BYTES). Both ends
   * must use the same, or the first frame after one side's rekey fails with ERR_DECRYPT.
   */
  rekey?: RekeyThresholds;
  signal?: AbortSignal;
}

function isIdentity(x: NodeKeys | SecureIdentity): x is SecureIdentity {
  return "payload" in x && "staticKey" in x;
}

/**
 * A Noise-encrypted byte stream over any connected byte Duplex. Usable at once: writes wait
 * until the handshake is done; `ready` resolves with the verified peer (or rejects with the
 * SecureError that destroyed the stream). Reads are authenticated plaintext only.
 */
export class SecureStream extends Duplex {
  readonly raw: Duplex;
  /** True when we ran the Noise initiator's side (may change once, on a reverse hello). */
  initiator: boolean;
  /** Resolves with the verified far end once the handshake completes. */
  readonly ready: Promise<SecurePeer>;
  #peer: SecurePeer | undefined;
  #resolve!: (p: SecurePeer) => void;
  #reject!: (e: Error) => void;
  readonly #id: SecureIdentity;
  #expect: SecureOptions["expect"];
  readonly #onHello: SecureOptions["onHello"];
  readonly #maxFrame: number;
  // The raw stream batches corked writes into one writev (sockets): frames need not be one buffer.
  readonly #vectored: boolean;
  #hs: HandshakeState | undefined;
  #pattern: "IK" | "XX" = "XX";
  #cipher: NoiseCipher;
  // A last frame to flush before the raw stream goes (the responder's "not my key").
  #lastWords: Buffer | undefined;
  #rx: CipherState | undefined;
  readonly #txKey: RekeyCounter;
  readonly #rxKey: RekeyCounter;
  #timer: NodeJS.Timeout | undefined;
  // Received bytes not yet forming a whole frame.
  readonly #frames = new FrameReader();
  #gotEnd = false;
  #held: { chunks: Buffer[]; cb: (err?: Error | null) => void } | undefined;
  #drainCb: ((err?: Error | null) => void) | undefined;
  #writer: FrameWriter | undefined;
  readonly #onAbort: () => void;
  readonly #signal: AbortSignal | undefined;

  constructor(raw: Duplex, opts: SecureOptions) {
    // Buffers of a whole frame each way: writes coalesce into full frames (one cipher call per
    // 64 KiB instead of per message) and a frame's plaintext is pushed without pausing the socket.
    super({
      allowHalfOpen: false,
      readableHighWaterMark: 2 * MAX_FRAME_PLAINTEXT,
      writableHighWaterMark: MAX_FRAME_PLAINTEXT,
    });
    this.raw = raw;
    this.initiator = opts.initiator;
    this.#id = isIdentity(opts.identity) ? opts.identity : secureIdentity(opts.identity);
    this.#expect = opts.expect;
    this.#onHello = opts.onHello;
    this.#cipher = opts.cipher ?? this.#id.cipher ?? DEFAULT_CIPHER;
    if (!NOISE_CIPHERS.includes(this.#cipher))
      throw new SecureError("ERR_BAD_ARGUMENT", `unknown Noise cipher ${String(this.#cipher)}`);
    this.#txKey = new RekeyCounter(opts.rekey);
    this.#rxKey = new RekeyCounter(opts.rekey);
    this.#vectored = raw instanceof Socket;
    // This stream ends the socket (after its authenticated end, or by destroying it): a socket
    // that ended its write side on the peer's FIN by itself would drop our answering end frame
    // whenever our reader had not caught up yet, and the peer would see ERR_TRUNCATED.
    if (this.#vectored) (raw as Socket).allowHalfOpen = true;
    this.#maxFrame = Math.max(
      1,
      Math.min(opts.maxFramePlaintext ?? MAX_FRAME_PLAINTEXT, MAX_FRAME_PLAINTEXT),
    );
    this.ready = new Promise<SecurePeer>((res, rej) => {
      this.#resolve = res;
      this.#reject = rej;
    });
    this.ready.catch(() => {}); // callers that never await it must not see an unhandled rejection
    // Where the peer is, for pipe.remote / logs (as a socket would say).
    const r = raw as {
      remoteAddress?: string;
      remotePort?: number;
      localAddress?: string;
      localPort?: number;
    };
    Object.assign(this, {
      remoteAddress: r.remoteAddress,
      remotePort: r.remotePort,
      localAddress: r.localAddress,
      localPort: r.localPort,
    });
    const ms = opts.timeoutMs ?? handshakeTimeoutMs(opts.rttMs);
    this.#timer = setTimeout(
      () =>
        this.destroy(
          new SecureError("ERR_HANDSHAKE_TIMEOUT", `no Noise handshake within ${ms} ms`),
        ),
      ms,
    );
    this.#signal = opts.signal;
    this.#onAbort = () => this.destroy(new SecureError("ERR_ABORTED", "secure handshake aborted"));
    if (opts.signal?.aborted) queueMicrotask(this.#onAbort);
    else opts.signal?.addEventListener("abort", this.#onAbort, { once: true });
    raw.on("data", this.#onData);
    raw.on("end", this.#onRawEnd);
    raw.on("error", this.#onRawError);
    raw.on("close", this.#onRawClose);
    raw.on("drain", this.#onDrain);
    try {
      if (this.initiator) this.#startInitiator();
      else if (opts.hello) {
        if (opts.hello.length !== HELLO_BYTES)
          throw new SecureError("ERR_BAD_ARGUMENT", `a hello is ${HELLO_BYTES} bytes`);
        this.#sendFrame([Buffer.of(HELLO), opts.hello]);
      }
    } catch (e) {
      queueMicrotask(() => this.destroy(e as Error));
    }
  }

  /** The verified far end, once the handshake is done. */
  get peer(): SecurePeer | undefined {
    return this.#peer;
  }

  get established(): boolean {
    return this.#peer !== undefined;
  }

  /** How many times each direction's transport key was replaced (REKEY) so far. */
  get rekeys(): { tx: number; rx: number } {
    return { tx: this.#txKey.count, rx: this.#rxKey.count };
  }

  #sendFrame(parts: Buffer[]): boolean {
    return this.raw.write(frameOf(parts));
  }

  #startInitiator(): void {
    const rs = this.#expect?.x25519;
    const ik = rs !== undefined;
    this.#pattern = ik ? "IK" : "XX";
    const tag = headerByte(this.#pattern, this.#cipher);
    this.#hs = new HandshakeState({
      pattern: this.#pattern,
      cipher: this.#cipher,
      initiator: true,
      prologue: Buffer.from(`${PROLOGUE}${tag}`),
      s: this.#id.staticKey,
      ...(ik ? { rs: Buffer.from(rs) } : {}),
    });
    const msg = this.#hs.writeMessage(ik ? this.#id.payload : EMPTY);
    this.#sendFrame([Buffer.of(tag), msg]);
  }

  #onHandshakeFrame(frame: Buffer): void {
    if (!this.initiator && this.#hs === undefined) {
      const tag = frame[0];
      if (tag === HELLO && this.#onHello && frame.length === 1 + HELLO_BYTES) {
        // Reverse connect: the transport's opener is the logical responder; we initiate.
        const expect = this.#onHello(frame.subarray(1));
        if (!expect) throw new SecureError("ERR_HANDSHAKE", "hello for no pending connect");
        this.#expect = expect;
        this.initiator = true;
        this.#startInitiator();
        return;
      }
      const { pattern, cipher } = parseHeader(tag);
      const ik = pattern === "IK";
      this.#pattern = pattern;
      this.#cipher = cipher;
      this.#hs = new HandshakeState({
        pattern,
        cipher,
        initiator: false,
        prologue: Buffer.from(`${PROLOGUE}${tag}`),
        s: this.#id.staticKey,
      });
      let payload: Buffer;
      try {
        payload = this.#hs.readMessage(frame.subarray(1));
      } catch (e) {
        // Not our key (or a damaged message): say so, so the dialer reports ERR_PEER_AUTH.
        if (ik) this.#lastWords = Buffer.alloc(2);
        throw new SecureError("ERR_HANDSHAKE", "cannot read the dialer's first Noise message", {
          cause: e,
        });
      }
      if (ik) this.#verify(payload);
      this.#sendFrame([this.#hs.writeMessage(this.#id.payload)]);
    } else if (this.#hs) {
      const hs = this.#hs;
      // A responder that opened the transport says hello first; we already initiate: skip it.
      if (this.initiator && frame.length === 1 + HELLO_BYTES && frame[0] === HELLO) return;
      if (this.initiator && frame.length === 0)
        throw new SecureError("ERR_PEER_AUTH", "far end does not hold the key in the address");
      let payload: Buffer;
      try {
        payload = hs.readMessage(frame);
      } catch (e) {
        throw new SecureError(
          this.initiator ? "ERR_PEER_AUTH" : "ERR_HANDSHAKE",
          this.initiator
            ? "far end could not prove the key in the address"
            : "cannot read the dialer's Noise message",
          { cause: e },
        );
      }
      this.#verify(payload);
      if (!hs.complete) this.#sendFrame([hs.writeMessage(this.#id.payload)]);
    }
    if (this.#hs?.complete) this.#established();
  }

  #verify(payload: Buffer): void {
    const hs = this.#hs as HandshakeState;
    const rs = hs.rs as Buffer;
    const { nodeId, ed25519 } = verifyPayload(payload, rs);
    const want = this.#expect?.nodeId;
    if (this.initiator && want !== undefined && want !== nodeId)
      throw new SecureError("ERR_PEER_AUTH", `far end is node ${nodeId}, not ${want}`);
    this.#peer = { nodeId, ed25519, x25519: rs, pattern: this.#pattern, cipher: this.#cipher };
  }

  #established(): void {
    const { send, recv } = (this.#hs as HandshakeState).split();
    this.#writer = new FrameWriter(this.raw, send, this.#txKey, {
      maxFrame: this.#maxFrame,
      vectored: this.#vectored,
      onError: (e) => this.destroy(e),
    });
    this.#rx = recv;
    this.#hs = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#resolve(this.#peer as SecurePeer);
    this.emit("secure", this.#peer);
    const held = this.#held;
    this.#held = undefined;
    if (held) this.#send(held.chunks, held.cb);
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.destroyed) return;
    const frames = this.#frames;
    frames.push(chunk);
    try {
      while (!this.destroyed) {
        const parts = frames.next();
        if (parts === undefined) break;
        const len = frames.len;
        if (this.#rx) this.#onTransportFrame(parts, len);
        else
          this.#onHandshakeFrame(
            parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, len),
          );
      }
    } catch (e) {
      this.destroy(
        e instanceof SecureError ? e : new SecureError("ERR_HANDSHAKE", String(e), { cause: e }),
      );
    }
  };

  #onTransportFrame(parts: Buffer[], len: number): void {
    if (this.#gotEnd) throw new SecureError("ERR_DECRYPT", "frame after the authenticated end");
    const rx = this.#rx as CipherState;
    const pt = rx.decryptParts(parts, len);
    this.#rxKey.after(rx, len);
    if (len === TAGLEN) {
      this.#gotEnd = true;
      this.push(null);
      return;
    }
    let more = true;
    for (const p of pt) if (p.length > 0) more = this.push(p);
    if (!more) this.raw.pause();
  }

  readonly #onRawEnd = (): void => {
    if (this.#gotEnd) return;
    if (!this.#rx) {
      this.destroy(
        new SecureError("ERR_HANDSHAKE_CLOSED", "connection ended during the Noise handshake"),
      );
    } else {
      this.destroy(
        new SecureError(
          "ERR_TRUNCATED",
          this.#frames.buffered > 0
            ? "connection ended inside a frame"
            : "connection ended without the authenticated end of stream",
        ),
      );
    }
  };

  readonly #onRawError = (err: Error): void => {
    this.destroy(
      this.#rx
        ? err
        : new SecureError(
            "ERR_HANDSHAKE_CLOSED",
            `connection failed during the Noise handshake: ${err.message}`,
            {
              cause: err,
            },
          ),
    );
  };

  readonly #onRawClose = (): void => {
    if (!this.destroyed) this.#onRawEnd();
  };

  readonly #onDrain = (): void => {
    const cb = this.#drainCb;
    this.#drainCb = undefined;
    cb?.();
  };

  override _read(): void {
    if (this.raw.isPaused()) this.raw.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._writev([{ chunk }], cb);
  }

  override _writev(chunks: { chunk: Buffer | string }[], cb: (err?: Error | null) => void): void {
    const bufs: Buffer[] = new Array(chunks.length);
    for (let i = 0; i < chunks.length; i++) {
      const c = (chunks[i] as { chunk: Buffer | string }).chunk;
      bufs[i] = typeof c === "string" ? Buffer.from(c) : c;
    }
    if (!this.#writer) {
      this.#held = { chunks: bufs, cb };
      return;
    }
    this.#send(bufs, cb);
  }

  #send(bufs: Buffer[], cb: (err?: Error | null) => void): void {
    let ok: boolean;
    try {
      ok = (this.#writer as FrameWriter).write(bufs);
    } catch (e) {
      cb(e as Error);
      return;
    }
    if (ok) cb();
    else this.#drainCb = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    const end = () => {
      try {
        (this.#writer as FrameWriter).end();
        cb();
      } catch (e) {
        cb(e as Error);
      }
    };
    if (this.#writer) end();
    else this.ready.then(end, (e: Error) => cb(e));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.raw.off("data", this.#onData);
    this.raw.off("drain", this.#onDrain);
    const last = this.#lastWords;
    if (last && !this.raw.destroyed) this.raw.end(last, () => this.raw.destroy());
    else this.raw.destroy();
    this.#frames.clear();
    this.#writer?.close();
    const failure = err ?? new SecureError("ERR_CLOSED", "secure stream closed");
    if (!this.#peer || !this.#writer) this.#reject(failure);
    const held = this.#held;
    this.#held = undefined;
    held?.cb(failure);
    const d = this.#drainCb;
    this.#drainCb = undefined;
    d?.(failure);
    cb(err);
  }
}

/** Starts a Noise handshake over a connected byte stream; see SecureStream. */
export function secureStream(raw: Duplex, opts: SecureOptions): SecureStream {
  return new SecureStream(raw, opts);
}
