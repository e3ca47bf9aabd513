import type { Endpoint, RouteLike } from "@p2pd/netifaces";
import type { DestLike } from "./address.js";
import { abortable } from "./deadline.js";
import { PipeError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import { Pipe, type Proto, type SendOptions, toBuffer } from "./pipe.js";
import type { Message } from "./subscription.js";

/** A message-oriented transport (TURN relay, reliable UDP stream...). Each send is one message. */
export interface MessageTransport {
  readonly local?: { host: string; port: number };
  readonly remote: { host: string; port: number };
  /** Resolves when the transport accepted the message (this is the backpressure). */
  send(data: Buffer): Promise<unknown>;
  onMessage(cb: (data: Buffer) => void): () => void;
  /** Fires once, with the error that ended it (undefined on a clean close). */
  onEnd(cb: (err?: Error) => void): () => void;
  close(): Promise<void>;
  /**
   * Optional flow control: stop / restart delivering messages. With both, `overflow: "pause"`
   * subscriptions hold the transport instead of dropping; without, they drop the newest.
   */
  pause?(): void;
  resume?(): void;
}

/**
 * A pipe over a MessageTransport: one transport message is one pipe message (no framing, no
 * copy). send() awaits the transport's send (its backpressure); the transport ending ends the
 * pipe; close() closes the transport.
 */
export class MessagePipe extends Pipe {
  readonly proto: Proto;
  readonly kind = "message" as const;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** The wrapped transport. */
  readonly transport: MessageTransport;
  private unMsg: (() => void) | undefined;
  private unEnd: (() => void) | undefined;
  private transportEnded = false;

  constructor(
    t: MessageTransport,
    proto: Proto,
    local: Endpoint,
    remote: Endpoint,
    cfg: ResolvedOptions,
    route: RouteLike | undefined,
  ) {
    super(cfg, route);
    this.transport = t;
    this.proto = proto;
    this.local = Object.freeze({ ...local });
    this.remote = Object.freeze({ ...remote });
    if (cfg.autoSubscribe !== false) this.subscribe();
    const from = this.remote;
    const max = cfg.maxMessageBytes;
    this.unMsg = t.onMessage((data) => {
      if (!this.isOpen) return;
      if (data.length > max) {
        // The same memory bound as a framed stream: an oversized message drops the connection.
        const err = new PipeError(
          "ERR_MSG_TOO_LARGE",
          `incoming message of ${data.length} B exceeds ${max} B`,
        );
        this.reportError(err);
        this.markEnded(err);
        this.close().catch(() => {});
        return;
      }
      this.dispatch(Buffer.isBuffer(data) ? data : toBuffer(data), from);
    });
    this.unEnd = t.onEnd((e) => {
      this.transportEnded = true;
      this.unhook();
      if (e === undefined) {
        this.markEnded();
        return;
      }
      const err =
        e instanceof PipeError
          ? e
          : new PipeError("ERR_SOCKET", `transport ended: ${e?.message ?? String(e)}`, {
              cause: e,
            });
      this.reportError(err);
      this.markEnded(err);
    });
    // onEnd may have fired synchronously (a transport that was already over).
    if (this.transportEnded) this.unhook();
  }

  private unhook(): void {
    this.unMsg?.();
    this.unEnd?.();
    this.unMsg = undefined;
    this.unEnd = undefined;
  }

  /** `for await (const msg of pipe)`: the catch-all subscription's messages until the pipe closes. */
  [Symbol.asyncIterator](): AsyncGenerator<Message> {
    return this.messages();
  }

  /** Sends one message to the peer (`dest` is ignored: there is one); resolves once the transport took it. */
  send(data: Uint8Array | string, _dest?: DestLike, opts?: SendOptions): Promise<number> {
    const signal = opts?.signal;
    let buf: Buffer;
    try {
      buf = this.sendable(data, signal, this.cfg.maxMessageBytes);
    } catch (e) {
      return Promise.reject(e);
    }
    let sent: Promise<unknown>;
    try {
      sent = Promise.resolve(this.transport.send(buf));
    } catch (e) {
      sent = Promise.reject(e);
    }
    return abortable(sent, signal, "send").then(
      () => buf.length,
      (e: unknown) => {
        if (e instanceof PipeError) throw e;
        if (!this.isOpen) throw this.closedError();
        throw new PipeError("ERR_SEND", `transport send failed: ${(e as Error)?.message ?? e}`, {
          cause: e,
        });
      },
    );
  }

  protected canPauseInput(): boolean {
    return (
      typeof this.transport.pause === "function" && typeof this.transport.resume === "function"
    );
  }

  protected setReading(on: boolean): void {
    if (on) this.transport.resume?.();
    else this.transport.pause?.();
  }

  protected closeTransport(): Promise<void> {
    this.unhook();
    if (this.transportEnded) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // A transport whose close() never settles must not hold close() (or a timer) forever.
      const timer = setTimeout(resolve, this.cfg.closeTimeoutMs);
      let p: Promise<void>;
      try {
        p = Promise.resolve(this.transport.close());
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(new PipeError("ERR_SOCKET", "transport close failed", { cause: e }));
        },
      );
    });
  }
}
