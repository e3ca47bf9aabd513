import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type MessageTransport, type PipeOptions, type StreamPipe, wrapStream } from "@p2pd/pipe";
import { NODE_PIPE_OPTIONS } from "../pipe.js";
import { HELLO_BYTES, type SecureOptions, SecureStream } from "./channel.js";
import { SecureError } from "./errors.js";
import type { SecureIdentity, SecurePeer } from "./identity.js";
import { transportStream } from "./transport.js";

/**
 * How a node connection's secure channel starts, from the node's point of view:
 * - `dial`: we are the logical dialer (our connect): the Noise initiator, expecting `expect`;
 * - `answer`: we answer a peer's connect over a transport we made (reverse dial-back, punch,
 *   relay): the responder, saying hello (a hash of the attempt id) first, so a node that
 *   accepted our transport on its listener knows it must initiate;
 * - `accept`: a connection our listener accepted: the responder, or the initiator when the
 *   opener says hello for one of our attempts (`onHello` says whom we expect there).
 */
export type SecureRole =
  | { role: "dial"; expect: { nodeId?: string; x25519?: Uint8Array }; rttMs?: number }
  | { role: "answer"; pipeId: string; nodeId?: string }
  | {
      role: "accept";
      onHello: (hello: Buffer) => { nodeId?: string; x25519?: Uint8Array } | undefined;
    };

/** The hello for an attempt: not the attempt id itself (that one is a secret between the nodes). */
export function helloFor(pipeId: string): Buffer {
  return createHash("sha256")
    .update(`p2pd-noise-hello:${pipeId}`)
    .digest()
    .subarray(0, HELLO_BYTES);
}

function isStream(t: Duplex | MessageTransport): t is Duplex {
  return typeof (t as Duplex).pipe === "function" && typeof (t as Duplex).write === "function";
}

/** The secure channel over a node transport (a byte stream or a message transport). */
export function secureConnection(
  t: Duplex | MessageTransport,
  identity: SecureIdentity,
  r: SecureRole,
  signal?: AbortSignal,
  rekey?: SecureOptions["rekey"],
): SecureStream {
  const raw = isStream(t) ? t : transportStream(t);
  const o: SecureOptions = {
    identity,
    initiator: r.role === "dial",
    ...(signal ? { signal } : {}),
    ...(rekey ? { rekey } : {}),
  };
  if (r.role === "dial") {
    o.expect = r.expect;
    if (r.rttMs !== undefined) o.rttMs = r.rttMs;
  } else if (r.role === "answer") {
    o.hello = helloFor(r.pipeId);
  } else {
    o.onHello = r.onHello;
  }
  return new SecureStream(raw, o);
}

/** Where a transport says it is, as a pipe endpoint. */
function ends(t: Duplex | MessageTransport): { local?: HostPort; remote?: HostPort } {
  if (!isStream(t)) {
    return {
      remote: hp(t.remote.host, t.remote.port),
      ...(t.local ? { local: hp(t.local.host, t.local.port) } : {}),
    };
  }
  const s = t as Partial<Socket>;
  return {
    ...(s.remoteAddress ? { remote: hp(s.remoteAddress, s.remotePort ?? 0) } : {}),
    ...(s.localAddress ? { local: hp(s.localAddress, s.localPort ?? 0) } : {}),
  };
}
type HostPort = { host: string; port: number; family: 4 | 6 };
const hp = (host: string, port: number): HostPort => ({
  host,
  port,
  family: host.includes(":") ? 6 : 4,
});

/**
 * A node connection over the secure channel: the node pipe (u32-length messages) on top of the
 * SecureStream, which sets `pipe.peer` the moment the handshake proves the far end (before any
 * message of that far end reaches the pipe). An `answer` whose far end is not the node that asked
 * is closed with ERR_PEER_AUTH.
 */
export function wrapSecure(
  t: Duplex | MessageTransport,
  identity: SecureIdentity,
  r: SecureRole,
  bounds: PipeOptions = {},
  rekey?: SecureOptions["rekey"],
): { pipe: StreamPipe; secure: SecureStream } {
  const { local, remote } = ends(t);
  const secure = secureConnection(t, identity, r, undefined, rekey);
  const pipe = wrapStream(secure, {
    ...NODE_PIPE_OPTIONS,
    ...bounds,
    proto: isStream(t) ? "tcp" : "udp",
    ...(local ? { local } : {}),
    ...(remote ? { remote } : {}),
  });
  secure.once("secure", (peer: SecurePeer) => {
    if (r.role === "answer" && r.nodeId !== undefined && peer.nodeId !== r.nodeId) {
      secure.destroy(
        new SecureError("ERR_PEER_AUTH", `far end is node ${peer.nodeId}, not ${r.nodeId}`),
      );
      return;
    }
    pipe.peer = { ...peer };
  });
  return { pipe, secure };
}
