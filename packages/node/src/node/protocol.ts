import type { Pipe } from "@p2pd/pipe";

/** A connect attempt's id: 128 random bits as hex, secret between the two nodes. */
export const PIPE_ID = /^[0-9a-f]{32}$/;

/** How long the id of an abandoned connect attempt is remembered (ms). */
const CANCEL_MS = 60_000;

const ECHO = Buffer.from("ECHO ");
const ID = Buffer.from("ID ");

/**
 * ECHO round trip against a node (any pipe to a node port): sends `ECHO <data>`, resolves with
 * the reply (the pipe's next message).
 */
export async function echo(
  pipe: Pipe,
  data: string | Uint8Array,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<Buffer> {
  const reply = pipe.recv(opts);
  try {
    await pipe.send(Buffer.concat([ECHO, Buffer.from(data)]), undefined, opts);
  } catch (err) {
    reply.catch(() => {});
    throw err;
  }
  return reply;
}

/**
 * The node protocol on every node connection, as the pipe's first look at each message:
 * `ECHO <bytes>` is answered with `<bytes>`; `ID <pipeId>` ties an inbound connection to a
 * connect attempt (a waiting strategy gets it, the dial-back of an abandoned attempt is closed,
 * anything else is adopted as a new pipe). Other messages go on to the pipe's users.
 */
export class NodeProtocol {
  readonly #adopt: (pipe: Pipe, id: string) => void;
  readonly #ids = new WeakMap<Pipe, string>();
  /** Ids of connect attempts given up (lost a race, failed): pipe id -> when (Date.now()). */
  readonly #cancelled = new Map<string, number>();
  readonly #inbound = new Map<string, (p: Pipe) => void>();

  constructor(adopt: (pipe: Pipe, id: string) => void) {
    this.#adopt = adopt;
  }

  /** Puts the protocol in front of `pipe`'s users; `before` sees every message first. */
  attach(pipe: Pipe, before?: (data: Buffer, pipe: Pipe) => void): () => void {
    return pipe.intercept((data) => {
      before?.(data, pipe);
      return this.handle(data, pipe);
    });
  }

  /** The connect attempt a pipe belongs to, once known. */
  idOf(pipe: Pipe): string | undefined {
    return this.#ids.get(pipe);
  }

  /** Ties a pipe to a connect attempt (first tie wins); a later `ID` on it is ignored. */
  tie(pipe: Pipe, id: string): string {
    const had = this.#ids.get(pipe);
    if (had) return had;
    this.#ids.set(pipe, id);
    return id;
  }

  /** Handles one message; true when it was a protocol verb (consumed). */
  handle(data: Buffer, pipe: Pipe): boolean {
    if (data.length >= 5 && data.subarray(0, 5).equals(ECHO)) {
      pipe.send(data.subarray(5)).catch(() => {});
      return true;
    }
    if (data.length === 35 && data.subarray(0, 3).equals(ID)) {
      this.#onId(data.subarray(3).toString("latin1"), pipe);
      return true;
    }
    return false;
  }

  #onId(id: string, pipe: Pipe): void {
    if (!PIPE_ID.test(id) || this.#ids.has(pipe)) return;
    if (this.#cancelled.has(id)) {
      // The dial-back of an attempt we gave up (e.g. reverse losing a race): not a new pipe.
      this.#cancelled.delete(id);
      pipe.close().catch(() => {});
      return;
    }
    this.#ids.set(pipe, id);
    const waiting = this.#inbound.get(id);
    if (waiting) {
      this.#inbound.delete(id);
      waiting(pipe);
    } else {
      this.#adopt(pipe, id);
    }
  }

  /** Waits for an inbound connection that announces `ID <pipeId>`. */
  waitInbound(pipeId: string, signal: AbortSignal): Promise<Pipe> {
    return new Promise<Pipe>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.#inbound.delete(pipeId);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#inbound.set(pipeId, (p) => {
        signal.removeEventListener("abort", onAbort);
        resolve(p);
      });
    });
  }

  /** A connect attempt we gave up: a connection that still announces its id is closed, not adopted. */
  cancel(pipeId: string, now = Date.now()): void {
    for (const [id, at] of this.#cancelled) if (now - at > CANCEL_MS) this.#cancelled.delete(id);
    this.#cancelled.set(pipeId, now);
  }
}
