import type { Duplex } from "node:stream";
import type { Endpoint, RouteLike } from "@p2pd/netifaces";
import type { DestLike } from "./address.js";
import { abortable } from "./deadline.js";
import { PipeError } from "./errors.js";
import { createDecoder, createEncoder, type Decoder, type Encoder } from "./framing.js";
import type { SlabReader } from "./inplace.js";
import type { ResolvedOptions } from "./options.js";
import { Pipe, type PipeKind, type Proto, type SendOptions } from "./pipe.js";
import type { Message } from "./subscription.js";

/** Messages below this size are coalesced per tick; bigger ones are written at once. */
const COALESCE_MAX = 8192;

export function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException | undefined)?.code ?? "";
}

/** What a stream pipe is built from (TcpPipe passes its socket's addresses). */
export interface StreamPipeInit {
  kind: PipeKind;
  proto: Proto;
  local: Endpoint;
  remote: Endpoint;
  /** Prefix of ERR_SOCKET messages ("tcp", "stream"). */
  label: string;
  /** The socket reads into this (node:net onread) instead of emitting 'data'; see inplace.ts. */
  reader?: SlabReader | undefined;
}

/**
 * A framed message pipe over any connected byte Duplex (TCP or TLS socket, punched socket,
 * in-memory pair): the stream machinery TcpPipe is built on. Each send() is one framed message
 * (opts.framing, default u32-length); writes respect write()/'drain'; an overlong incoming frame
 * closes the pipe with ERR_MSG_TOO_LARGE. close() ends (then destroys) the stream.
 */
export class StreamPipe extends Pipe {
  readonly proto: Proto;
  readonly kind: PipeKind;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** The underlying byte stream. */
  readonly stream: Duplex;
  private readonly decoder: Decoder | SlabReader;
  private readonly encoder: Encoder;
  private readonly label: string;
  private drain: Promise<void> | undefined;
  private corked = false;
  private streamClosed = false;
  private readonly uncork = () => {
    this.corked = false;
    this.stream.uncork();
  };
  private readonly onFrame: (m: Buffer) => void;

  constructor(
    stream: Duplex,
    init: StreamPipeInit,
    cfg: ResolvedOptions,
    route: RouteLike | undefined,
    parent?: Pipe,
  ) {
    super(cfg, route, parent);
    this.stream = stream;
    this.kind = init.kind;
    this.proto = init.proto;
    this.label = init.label;
    this.local = Object.freeze({ ...init.local });
    this.remote = Object.freeze({ ...init.remote });
    this.encoder = createEncoder(cfg.framing, cfg.maxMessageBytes);
    if (cfg.autoSubscribe !== false) this.subscribe();
    const remote = this.remote;
    this.onFrame = (m) => this.dispatch(m, remote);
    // A framing violation poisons the stream: report it, drop the connection.
    const fail = (e: unknown) => {
      this.reportError(e);
      this.markEnded(e as Error);
      stream.destroy();
    };
    const reader = init.reader;
    if (reader) {
      this.decoder = reader;
      reader.attach(this.onFrame, fail);
      // It paused itself while nobody took its messages.
      stream.resume();
    } else {
      const decoder = createDecoder(cfg.framing, cfg.maxMessageBytes);
      this.decoder = decoder;
      stream.on("data", (chunk: Buffer | string) => {
        try {
          decoder.push(
            typeof chunk === "string"
              ? Buffer.from(chunk, stream.readableEncoding ?? "utf8")
              : chunk,
            this.onFrame,
          );
        } catch (e) {
          fail(e);
        }
      });
    }
    stream.on("error", (e) => {
      const err = new PipeError(
        "ERR_SOCKET",
        `${this.label} ${errno(e) || "error"}: ${e.message}`,
        { cause: e },
      );
      this.reportError(err);
      this.markEnded(err);
    });
    stream.on("end", () => {
      // The peer finished: nothing more will come. A half-open stream is ended from here too
      // (sockets without allowHalfOpen do that themselves).
      this.markEnded();
      if (stream.allowHalfOpen && !stream.writableEnded && !stream.destroyed) {
        stream.once("finish", () => stream.destroy());
        stream.end();
      }
    });
    stream.on("close", () => {
      this.streamClosed = true;
      this.markEnded();
    });
  }

  /** `for await (const msg of pipe)`: the catch-all subscription's messages until the pipe closes. */
  [Symbol.asyncIterator](): AsyncGenerator<Message> {
    return this.messages();
  }

  /**
   * Sends one framed message to the peer (`dest` is ignored: there is one). Resolves at once while
   * the stream buffer has room, else on 'drain'.
   */
  send(data: Uint8Array | string, _dest?: DestLike, opts?: SendOptions): Promise<number> {
    if (this.stream.destroyed) return Promise.reject(this.closedError());
    const signal = opts?.signal;
    let buf: Buffer;
    let parts: Buffer[];
    try {
      buf = this.sendable(data, signal);
      parts = this.encoder(buf);
    } catch (e) {
      return Promise.reject(e);
    }
    const s = this.stream;
    // Messages sent in the same tick leave in one writev (uncorked on nextTick): far fewer
    // syscalls for small messages, no added latency.
    let ok = true;
    if (this.corked || buf.length < COALESCE_MAX) {
      if (!this.corked) {
        this.corked = true;
        s.cork();
        process.nextTick(this.uncork);
      }
      for (let i = 0; i < parts.length; i++) ok = s.write(parts[i] as Buffer);
    } else if (parts.length === 1) {
      ok = s.write(parts[0] as Buffer);
    } else {
      // A big message goes out now, header and payload in one writev, without copying.
      s.cork();
      for (let i = 0; i < parts.length; i++) ok = s.write(parts[i] as Buffer);
      s.uncork();
    }
    if (ok) return Promise.resolve(buf.length);
    return abortable(this.waitDrain(), signal, "send").then(() => buf.length);
  }

  private waitDrain(): Promise<void> {
    this.drain ??= new Promise<void>((resolve, reject) => {
      const s = this.stream;
      const done = () => {
        s.off("drain", done);
        s.off("close", done);
        s.off("error", done);
        this.drain = undefined;
        if (s.destroyed && s.writableLength > 0) reject(this.closedError());
        else resolve();
      };
      s.on("drain", done);
      s.on("close", done);
      s.on("error", done);
    });
    return this.drain;
  }

  protected canPauseInput(): boolean {
    return true;
  }

  protected setReading(on: boolean): void {
    if (on) this.stream.resume();
    else this.stream.pause();
  }

  /** Bytes received but not yet a complete message (framing). */
  get bufferedBytes(): number {
    return this.decoder.buffered;
  }

  /** Destroys the stream with a reset where the stream can (TCP RST). */
  protected resetStream(): void {
    this.stream.destroy();
  }

  protected closeTransport(reset: boolean): Promise<void> {
    const s = this.stream;
    if (this.streamClosed || s.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        s.off("close", finish);
        resolve();
      };
      const timer = setTimeout(() => {
        s.destroy();
        // A stream that never emits 'close' (emitClose: false) must not hold close() forever.
        finish();
      }, this.cfg.closeTimeoutMs);
      s.once("close", finish);
      if (reset) {
        this.resetStream();
      } else if (s.destroyed) {
        // 'close' is already on its way.
      } else {
        // Flush what is queued, end, then free the stream without waiting for the peer.
        s.once("finish", () => s.destroy());
        s.end();
      }
    });
  }
}
