import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import {
  type MessageTransport,
  type Pipe,
  type PipeOptions,
  wrapMessages,
  wrapSocket,
  wrapStream,
} from "@p2pd/pipe";

/** Default largest message (payload bytes, the 4-byte length excluded). */
export const NODE_MAX_MESSAGE = 1024 * 1024;

/** Default bytes a node connection's unread messages may hold (per queue). */
export const NODE_MAX_QUEUE_BYTES = 2 * 1024 * 1024;
/** Default bytes all unread messages of a node's connections may hold together. */
export const NODE_QUEUE_BUDGET = 16 * 1024 * 1024;

/**
 * How node connections are framed and bounded: @p2pd/pipe's "u32-length" framing (4-byte
 * big-endian length, then the payload; binary-safe, empty messages included), messages up to
 * NODE_MAX_MESSAGE (a longer incoming one closes the pipe: memory bound), recv() waiting 5 s.
 * Messages nobody reads are queued up to 1024 or NODE_MAX_QUEUE_BYTES per queue (then the
 * oldest is dropped); the node adds a budget shared by all its connections: while it is spent,
 * streams holding unread messages stop being read (TCP pushes back on the sender) and message
 * transports drop what comes.
 */
export const NODE_PIPE_OPTIONS = {
  framing: "u32-length",
  maxMessageBytes: NODE_MAX_MESSAGE,
  recvTimeoutMs: 5000,
  maxQueue: 1024,
  maxQueueBytes: NODE_MAX_QUEUE_BYTES,
} as const satisfies PipeOptions;

/** A node connection's transport: a connected byte stream, or a message transport. */
export type NodeTransport = Duplex | MessageTransport;

function isStream(t: NodeTransport): t is Duplex {
  return typeof (t as Duplex).pipe === "function" && typeof (t as Duplex).write === "function";
}

/**
 * A node connection as a @p2pd/pipe Pipe: sockets (TCP, punched TCP) and other byte streams are
 * framed; message transports (reliable UDP, TURN relay) carry one message per pipe message.
 */
export function wrapConnection(t: NodeTransport, opts: PipeOptions = {}): Pipe {
  const o = { ...NODE_PIPE_OPTIONS, ...opts };
  if (!isStream(t)) return wrapMessages(t, o);
  return t instanceof Socket ? wrapSocket(t, o) : wrapStream(t, o);
}
