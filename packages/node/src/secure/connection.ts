import { createHash } from "node:crypto";
import type { Duplex } from "node:stream";
import type { MessageTransport } from "@p2pd/pipe";
import { HELLO_BYTES, type SecureOptions, SecureStream } from "./channel.js";
import type { SecureIdentity } from "./identity.js";
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
  | { role: "answer"; pipeId: string }
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
): SecureStream {
  const raw = isStream(t) ? t : transportStream(t);
  const o: SecureOptions = {
    identity,
    initiator: r.role === "dial",
    ...(signal ? { signal } : {}),
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
