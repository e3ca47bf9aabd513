import type { NodePipe } from "../pipe.js";

/** A connect attempt's id: 128 random bits as hex, secret between the two nodes. */
export const PIPE_ID = /^[0-9a-f]{32}$/;

/** How long the id of an abandoned connect attempt is remembered (ms). */
const CANCEL_MS = 60_000;

const ECHO = Buffer.from("ECHO ");
const ID = Buffer.from("ID ");

/**
 * The node protocol on every node connection: `ECHO <bytes>` is answered with `<bytes>`;
 * `ID <pipeId>` ties an inbound connection to a connect attempt (a waiting strategy gets it, the
 * dial-back of an abandoned attempt is closed, anything else is adopted as a new pipe).
 */
export class NodeProtocol {
  readonly #adopt: (pipe: NodePipe) => void;
  /** Ids of connect attempts given up (lost a race, failed): pipe id -> when (Date.now()). */
  readonly #cancelled = new Map<string, number>();
  readonly #inbound = new Map<string, (p: NodePipe) => void>();

  constructor(adopt: (pipe: NodePipe) => void) {
    this.#adopt = adopt;
  }

  /** Handles one message; true when it was a protocol verb (consumed). */
  handle(data: Buffer, pipe: NodePipe): boolean {
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

  #onId(id: string, pipe: NodePipe): void {
    if (!PIPE_ID.test(id) || pipe.id) return;
    if (this.#cancelled.has(id)) {
      // The dial-back of an attempt we gave up (e.g. reverse losing a race): not a new pipe.
      this.#cancelled.delete(id);
      pipe.close().catch(() => {});
      return;
    }
    pipe.id = id;
    const waiting = this.#inbound.get(id);
    if (waiting) {
      this.#inbound.delete(id);
      waiting(pipe);
    } else {
      this.#adopt(pipe);
    }
  }

  /** Waits for an inbound connection that announces `ID <pipeId>`. */
  waitInbound(pipeId: string, signal: AbortSignal): Promise<NodePipe> {
    return new Promise<NodePipe>((resolve, reject) => {
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
