import {
  ATTR,
  type EncodeOptions,
  encodeMessage,
  StunMessage,
  type StunMessageInit,
  verifyIntegrity,
} from "@p2pd/stun";
import { TraversalError, TurnError } from "./errors.js";

interface Pending {
  /** Must a success response carry a valid MESSAGE-INTEGRITY? */
  needIntegrity: boolean;
  resolve: (m: StunMessage) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

export interface TurnRequest {
  method: number;
  /** The request's transaction id, as `bytes` carry it. */
  transactionId: Uint8Array;
  bytes: Uint8Array;
  needIntegrity: boolean;
  /** Total time, retransmissions included. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * A TURN client's outstanding requests: sends each (retransmitting over UDP, RTO doubled each
 * time), matches responses by transaction id and checks their MESSAGE-INTEGRITY.
 */
export class TurnTransactions {
  readonly #pending = new Map<string, Pending>();
  readonly #write: (bytes: Uint8Array) => void;
  readonly #retransmit: () => boolean;
  readonly #rtoMs: number;

  constructor(o: { write(bytes: Uint8Array): void; retransmit(): boolean; rtoMs: number }) {
    this.#write = o.write;
    this.#retransmit = o.retransmit;
    this.#rtoMs = o.rtoMs;
  }

  /** One request/response transaction. */
  run(r: TurnRequest): Promise<StunMessage> {
    const txid = Buffer.from(r.transactionId).toString("hex");
    const { signal } = r;
    return new Promise<StunMessage>((resolve, reject) => {
      let rto = this.#rtoMs;
      let rtx: NodeJS.Timeout | undefined;
      const deadline = setTimeout(() => {
        this.#pending.delete(txid);
        cleanup();
        reject(
          new TurnError("ERR_TURN_TIMEOUT", `no answer to TURN request 0x${r.method.toString(16)}`),
        );
      }, r.timeoutMs);
      const onAbort = () => {
        this.#pending.delete(txid);
        cleanup();
        reject(
          new TraversalError("ERR_ABORTED", "TURN request aborted", { cause: signal?.reason }),
        );
      };
      const cleanup = () => {
        clearTimeout(deadline);
        if (rtx) clearTimeout(rtx);
        signal?.removeEventListener("abort", onAbort);
      };
      if (signal?.aborted) {
        cleanup();
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      const resend = () => {
        this.#write(r.bytes);
        if (this.#retransmit()) {
          rtx = setTimeout(resend, rto);
          rto *= 2;
        }
      };
      this.#pending.set(txid, { needIntegrity: r.needIntegrity, resolve, reject, cleanup });
      resend();
    });
  }

  /**
   * A success or error response (`buf` its bytes): settles its transaction. "unknown": no such
   * transaction (stale or forged); "forged": its MESSAGE-INTEGRITY does not check with `key`.
   */
  answer(
    msg: StunMessage,
    buf: Uint8Array,
    key: Uint8Array | undefined,
  ): "ok" | "unknown" | "forged" {
    const p = this.#pending.get(msg.id);
    if (!p) return "unknown";
    if (key) {
      const hasMi = msg.has(ATTR.MESSAGE_INTEGRITY);
      const needMi = msg.cls === "success" && p.needIntegrity;
      if ((needMi || hasMi) && !(hasMi && verifyIntegrity(buf, key))) return "forged";
    }
    this.#pending.delete(msg.id);
    p.cleanup();
    p.resolve(msg);
    return "ok";
  }

  /** Fails every outstanding request with `err`. */
  rejectAll(err: Error): void {
    for (const p of this.#pending.values()) {
      p.cleanup();
      p.reject(err);
    }
    this.#pending.clear();
  }
}

/** Builds and encodes a message; whatever the codec refuses (a bad peer address, oversized data) is ERR_BAD_ARGUMENT. */
export function encodeTurn(
  init: StunMessageInit,
  build: (m: StunMessage) => void,
  opts: EncodeOptions = {},
): Uint8Array {
  try {
    const m = new StunMessage(init);
    build(m);
    return encodeMessage(m, opts);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new TraversalError("ERR_BAD_ARGUMENT", `cannot encode STUN: ${why}`, { cause: err });
  }
}

/** ERROR-CODE of an error response; a missing or malformed one is status 0 (the request just failed). */
export function errorCodeOf(m: StunMessage): { status: number; reason: string } {
  try {
    const ec = m.getErrorCode();
    return ec ? { status: ec.code, reason: ec.reason } : { status: 0, reason: "no ERROR-CODE" };
  } catch {
    return { status: 0, reason: "malformed ERROR-CODE" };
  }
}

/** LIFETIME in seconds; undefined when missing or malformed (the caller keeps what it asked for). */
export function lifetimeOf(m: StunMessage): number | undefined {
  try {
    return m.getUint32(ATTR.LIFETIME);
  } catch {
    return undefined;
  }
}
