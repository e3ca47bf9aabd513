import { once } from "node:events";
import * as net from "node:net";
import { Duplex } from "node:stream";
import type { MessageTransport } from "../src/index.js";

/** Two connected in-memory byte streams (node:stream's duplexPair is Node >= 22.6). */
export function duplexPair(): [Duplex, Duplex] {
  let a: Duplex | undefined;
  let b: Duplex | undefined;
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
    });
  a = make(() => b as Duplex);
  b = make(() => a as Duplex);
  return [a, b];
}

/** A connected pair of loopback sockets (client side, accepted side); close the server after. */
export async function socketPair(): Promise<{
  client: net.Socket;
  accepted: net.Socket;
  server: net.Server;
}> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const acceptedP = once(server, "connection") as Promise<[net.Socket]>;
  const client = net.connect({ host: "127.0.0.1", port });
  await once(client, "connect");
  const [accepted] = await acceptedP;
  return { client, accepted, server };
}

/**
 * An in-memory MessageTransport (pure logic, like a TURN relay's channel): what one side sends
 * the other side's onMessage gets, one message each, on a later microtask.
 */
export class MemTransport implements MessageTransport {
  peer: MemTransport | undefined;
  readonly sent: Buffer[] = [];
  closeCalls = 0;
  ended = false;
  paused = false;
  /** When set, send() waits for this promise (backpressure). */
  gate: Promise<void> | undefined;
  /** When set, close() never settles (a stuck transport). */
  hangClose = false;
  private readonly msgCbs = new Set<(d: Buffer) => void>();
  private readonly endCbs = new Set<(e?: Error) => void>();

  constructor(
    readonly remote: { host: string; port: number },
    readonly local?: { host: string; port: number },
  ) {}

  static pair(): [MemTransport, MemTransport] {
    const a = new MemTransport(
      { host: "192.0.2.2", port: 2000 },
      { host: "192.0.2.1", port: 1000 },
    );
    const b = new MemTransport(
      { host: "192.0.2.1", port: 1000 },
      { host: "192.0.2.2", port: 2000 },
    );
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  async send(data: Buffer): Promise<void> {
    if (this.ended) throw new Error("transport closed");
    if (this.gate) await this.gate;
    this.sent.push(data);
    const p = this.peer;
    queueMicrotask(() => p?.deliver(data));
  }

  deliver(data: Buffer): void {
    if (this.ended) return;
    for (const cb of this.msgCbs) cb(data);
  }

  onMessage(cb: (d: Buffer) => void): () => void {
    this.msgCbs.add(cb);
    return () => this.msgCbs.delete(cb);
  }

  onEnd(cb: (e?: Error) => void): () => void {
    this.endCbs.add(cb);
    return () => this.endCbs.delete(cb);
  }

  listeners(): number {
    return this.msgCbs.size + this.endCbs.size;
  }

  /** Ends this side (the relay expired, the peer vanished...). */
  end(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    for (const cb of [...this.endCbs]) cb(err);
  }

  close(): Promise<void> {
    this.closeCalls++;
    if (this.hangClose) return new Promise(() => {});
    this.end();
    this.peer?.end();
    return Promise.resolve();
  }
}

/** A transport with flow control. */
export class PausableTransport extends MemTransport {
  pauses = 0;
  resumes = 0;
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
    this.resumes++;
  }
}

/** u32-length frame of `payload` (the wire format of the default framing). */
export function frame(payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(payload.length);
  return Buffer.concat([h, payload]);
}
