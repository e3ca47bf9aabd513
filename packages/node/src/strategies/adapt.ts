import { Duplex } from "node:stream";
import type { MessageDuplex } from "../traversal/index.js";

/**
 * A message duplex (reliable UDP stream, TURN relay stream) as a byte stream, so NodePipe's line
 * framing works on it like on a TCP socket. Each received message is pushed as one chunk.
 */
export function messageStream(md: MessageDuplex): Duplex {
  const d = new Duplex({
    allowHalfOpen: false,
    read() {},
    write(chunk: Buffer, _enc, cb) {
      md.send(chunk).then(
        () => cb(),
        (err: Error) => cb(err),
      );
    },
    destroy(err, cb) {
      offMsg();
      offEnd();
      md.close().then(
        () => cb(err),
        () => cb(err),
      );
    },
  });
  const offMsg = md.onMessage((data) => d.push(data));
  const offEnd = md.onEnd(() => d.push(null));
  // Where the peer is, for logs and pipe.remote.
  Object.assign(d, { remoteAddress: md.remote.host, remotePort: md.remote.port });
  return d;
}
