// The pipe's public shapes (what is sent, received and intercepted) and toBuffer, apart from the class.
import type { Endpoint } from "@p2pd/netifaces";
import { PipeError } from "./errors.js";
import type { SubLike } from "./subscription.js";

export type Proto = "tcp" | "udp";
/** "stream": wrapStream() over any byte Duplex; "message": wrapMessages() over a MessageTransport. */
export type PipeKind = "tcp-client" | "tcp-child" | "tcp-server" | "udp" | "stream" | "message";

/** Sees a received message before everyone else; returns true to consume it. */
export type Interceptor = (data: Buffer, from: Endpoint) => boolean;

export interface RecvOptions {
  /** Which subscription to read (default: the catch-all). It must exist (ERR_NOT_SUBSCRIBED). */
  sub?: SubLike;
  /** Milliseconds; default the pipe's recvTimeoutMs (2000); 0 = no timeout. */
  timeout?: number;
  /** Alias of `timeout`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Options of `send()`. */
export interface SendOptions {
  /**
   * Stops waiting (ERR_ABORTED): for DNS, for socket buffer room on TCP, for the ACK of a
   * `reliable` UDP send (no more retries). Bytes already handed to the socket still go out.
   */
  signal?: AbortSignal;
}

/** Bytes to send: Buffer/Uint8Array as is (no copy), strings as UTF-8. */
export function toBuffer(data: Uint8Array | string): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new PipeError("ERR_BAD_ARGUMENT", "data must be a Uint8Array, Buffer or string");
}

/** A far end's proven identity (see Pipe.peer). */
export interface PipePeer {
  readonly nodeId: string;
  readonly [key: string]: unknown;
}
