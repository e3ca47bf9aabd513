import { Duplex } from "node:stream";
import type { MessageTransport } from "@p2pd/pipe";
import { type SecureOptions, SecureStream } from "./channel.js";

export interface SecureTransportOptions extends SecureOptions {}

/**
 * A message transport (reliable UDP stream, TURN relay) as a byte Duplex: each write is one
 * transport message, each transport message one chunk. SecureStream writes one whole Noise frame
 * per write, so every transport message carries whole frames.
 */
export function transportStream(t: MessageTransport): Duplex {
  let offMsg = () => {};
  let offEnd = () => {};
  const d = new Duplex({
    allowHalfOpen: false,
    read() {
      t.resume?.();
    },
    write(chunk: Buffer, _enc, cb) {
      t.send(chunk).then(
        () => cb(),
        (err: Error) => cb(err),
      );
    },
    final(cb) {
      // Give the transport a moment to deliver the last frame, then close it.
      t.close().then(
        () => cb(),
        () => cb(),
      );
    },
    destroy(err, cb) {
      offMsg();
      offEnd();
      t.close().then(
        () => cb(err),
        () => cb(err),
      );
    },
  });
  offMsg = t.onMessage((data) => {
    if (!d.push(data)) t.pause?.();
  });
  offEnd = t.onEnd((err) => (err ? d.destroy(err) : d.push(null)));
  Object.assign(d, {
    remoteAddress: t.remote.host,
    remotePort: t.remote.port,
    localAddress: t.local?.host,
    localPort: t.local?.port,
  });
  return d;
}

/** Starts a Noise handshake over a message transport; the result is an encrypted byte stream. */
export function secureTransport(t: MessageTransport, opts: SecureTransportOptions): SecureStream {
  return new SecureStream(transportStream(t), opts);
}
