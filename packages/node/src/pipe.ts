import type { Duplex } from "node:stream";
import { createDecoder, createEncoder, type Decoder, type Encoder } from "@p2pd/pipe";
import { P2pdNodeError } from "./errors.js";

export type PipeMessageCb = (data: Buffer, pipe: NodePipe) => void;

/** Default largest message (payload bytes, the 4-byte length excluded). */
export const NODE_MAX_MESSAGE = 1024 * 1024;

export interface NodePipeOptions {
  /** Largest message (payload bytes); a longer incoming frame closes the pipe (memory bound). */
  maxMessage?: number;
  /** Queued messages kept for recv(); the oldest are dropped beyond this. */
  maxQueue?: number;
}

/**
 * A node connection: length-prefixed messages (@p2pd/pipe's default "u32-length" framing: 4-byte
 * big-endian length, then the payload) over any byte stream: a TCP socket, a punched socket, a
 * reliable UDP stream, a TURN relay. Binary-safe: any byte, empty messages included. Node protocol
 * verbs (`ECHO <bytes>`, `ID <pipeId>`) are message payloads.
 */
export class NodePipe {
  readonly stream: Duplex;
  readonly #maxMessage: number;
  readonly #maxQueue: number;
  readonly #decoder: Decoder;
  readonly #encoder: Encoder;
  readonly #queue: Buffer[] = [];
  readonly #waiters = new Set<{ resolve: (b: Buffer) => void; reject: (e: unknown) => void }>();
  readonly #cbs = new Set<PipeMessageCb>();
  readonly #closeCbs = new Set<(err?: P2pdNodeError) => void>();
  #closed = false;
  #error: P2pdNodeError | undefined;
  /** Set by the node when the pipe is tied to a connect (the ID verb). */
  id: string | undefined;

  constructor(stream: Duplex, opts: NodePipeOptions = {}) {
    this.stream = stream;
    this.#maxMessage = opts.maxMessage ?? NODE_MAX_MESSAGE;
    this.#maxQueue = opts.maxQueue ?? 1024;
    this.#decoder = createDecoder("u32-length", this.#maxMessage);
    this.#encoder = createEncoder("u32-length", this.#maxMessage);
    stream.on("data", (chunk: Buffer | string) => this.#onData(Buffer.from(chunk)));
    stream.on("error", () => this.#end());
    stream.on("close", () => this.#end());
    stream.on("end", () => {
      // Half-closed by the peer: nothing more will come.
      this.#end();
      stream.destroy();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Why the pipe closed when the peer broke the framing (ERR_MSG_TOO_LARGE); undefined otherwise. */
  get error(): P2pdNodeError | undefined {
    return this.#error;
  }

  /** Remote host and port when the stream is a socket. */
  get remote(): { host: string; port: number } | undefined {
    const s = this.stream as { remoteAddress?: string; remotePort?: number };
    return s.remoteAddress && s.remotePort
      ? { host: s.remoteAddress, port: s.remotePort }
      : undefined;
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    try {
      this.#decoder.push(chunk, (msg) => {
        if (this.#closed) return;
        // A copy: the decoder may hand out views of a shared slab.
        this.#dispatch(Buffer.from(msg));
      });
    } catch (err) {
      // A frame longer than maxMessage: drop the connection rather than buffer without bound.
      const code = (err as { code?: string }).code ?? "ERR_BAD_FRAME";
      this.#end(new P2pdNodeError(code, (err as Error).message, { cause: err }));
      this.stream.destroy();
    }
  }

  /** Hook for the node protocol: return true to consume a message before users see it. */
  intercept: ((data: Buffer, pipe: NodePipe) => boolean) | undefined;

  #dispatch(data: Buffer): void {
    for (const cb of this.#cbs) {
      try {
        cb(data, this);
      } catch {
        // A user callback must not break the pipe.
      }
    }
    if (this.intercept?.(data, this)) return;
    const w = this.#waiters.values().next().value;
    if (w) {
      this.#waiters.delete(w);
      w.resolve(data);
      return;
    }
    this.#queue.push(data);
    if (this.#queue.length > this.#maxQueue) this.#queue.shift();
  }

  #end(error?: P2pdNodeError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    const err = error ?? new P2pdNodeError("ERR_PIPE_CLOSED", "pipe closed");
    for (const w of this.#waiters) w.reject(err);
    this.#waiters.clear();
    for (const cb of this.#closeCbs) {
      try {
        cb(error);
      } catch {
        // ignore
      }
    }
  }

  /** Every message received (including node-protocol verbs), in order. */
  onMessage(cb: PipeMessageCb): () => void {
    this.#cbs.add(cb);
    return () => this.#cbs.delete(cb);
  }

  /** Runs once when the pipe closes (at once if it already has); `err` when the framing broke. */
  onClose(cb: (err?: P2pdNodeError) => void): () => void {
    if (this.#closed) {
      cb(this.#error);
      return () => {};
    }
    this.#closeCbs.add(cb);
    return () => this.#closeCbs.delete(cb);
  }

  /** Sends one message: any bytes up to maxMessage (else ERR_MSG_TOO_LARGE). */
  async send(data: string | Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    const b = typeof data === "string" ? Buffer.from(data) : Buffer.from(data);
    let frame: Buffer;
    try {
      frame = Buffer.concat(this.#encoder(b));
    } catch (err) {
      // ERR_MSG_TOO_LARGE, as @p2pd/pipe names it.
      const code = (err as { code?: string }).code ?? "ERR_MSG_TOO_LARGE";
      throw new P2pdNodeError(code, (err as Error).message, { cause: err });
    }
    if (this.#closed || this.stream.destroyed)
      throw new P2pdNodeError("ERR_PIPE_CLOSED", "pipe closed");
    await new Promise<void>((resolve, reject) => {
      // Aborting stops the wait for the flush (backpressure), not the bytes already queued.
      const onAbort = () => reject(opts.signal?.reason);
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      this.stream.write(frame, (err) => {
        opts.signal?.removeEventListener("abort", onAbort);
        if (err) reject(new P2pdNodeError("ERR_PIPE_WRITE", err.message, { cause: err }));
        else resolve();
      });
    });
  }

  /** Next message not consumed by the node protocol. Throws ERR_RECV_TIMEOUT / ERR_PIPE_CLOSED. */
  recv(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closed)
      return Promise.reject(this.#error ?? new P2pdNodeError("ERR_PIPE_CLOSED", "pipe closed"));
    return new Promise<Buffer>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 5000;
      const done = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(w);
      };
      const w = {
        resolve: (b: Buffer) => {
          done();
          resolve(b);
        },
        reject: (e: unknown) => {
          done();
          reject(e);
        },
      };
      const timer = setTimeout(
        () => w.reject(new P2pdNodeError("ERR_RECV_TIMEOUT", `no message in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = () => w.reject(opts.signal?.reason);
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(w);
    });
  }

  /** ECHO round trip against a node: sends `ECHO <data>`, resolves with the reply. */
  async echo(data: string | Uint8Array, opts: { timeoutMs?: number; signal?: AbortSignal } = {}) {
    const reply = this.recv(opts);
    try {
      await this.send(Buffer.concat([Buffer.from("ECHO "), Buffer.from(data)]), opts);
    } catch (err) {
      reply.catch(() => {});
      throw err;
    }
    return reply;
  }

  async close(): Promise<void> {
    if (!this.stream.destroyed) {
      await new Promise<void>((resolve) => {
        this.stream.once("close", () => resolve());
        this.stream.destroy();
      });
    }
    this.#end();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
