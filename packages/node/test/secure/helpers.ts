import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { deriveKeys, type NodeKeys } from "../../src/keys.js";
import { type SecureOptions, SecureStream } from "../../src/secure/channel.js";
import { NOISE_CIPHERS, type NoiseCipher } from "../../src/secure/cipher-state.js";

/** Every cipher the channel speaks: suites that attack the transport run once per cipher. */
export const CIPHERS: readonly NoiseCipher[] = NOISE_CIPHERS;

export const alice = deriveKeys(Buffer.alloc(32, 1));
export const bob = deriveKeys(Buffer.alloc(32, 2));
export const carol = deriveKeys(Buffer.alloc(32, 3));

/** A connected loopback TCP socket pair. */
export async function tcpPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const client = connect(port, "127.0.0.1");
  await once(client, "connect");
  const [srv] = await accepted;
  server.close();
  return [client, srv];
}

/**
 * An in-memory byte wire whose a->b direction can be tampered with: `ab` sees every chunk a
 * writes and decides what b receives (default: as is).
 */
export class Wire {
  ab: (chunk: Buffer, deliver: (c: Buffer) => void) => void = (c, d) => d(c);
  readonly a: Duplex;
  readonly b: Duplex;
  constructor() {
    const self = this;
    this.a = new Duplex({
      read() {},
      write(chunk: Buffer, _e, cb) {
        self.ab(chunk, (c) => self.b.push(c));
        cb();
      },
      final(cb) {
        self.b.push(null);
        cb();
      },
    });
    this.b = new Duplex({
      read() {},
      write(chunk: Buffer, _e, cb) {
        self.a.push(chunk);
        cb();
      },
      final(cb) {
        self.a.push(null);
        cb();
      },
    });
  }
}

export function secure(
  raw: Duplex,
  keys: NodeKeys,
  initiator: boolean,
  expect?: SecureOptions["expect"],
  extra: Partial<SecureOptions> = {},
): SecureStream {
  return new SecureStream(raw, {
    identity: keys,
    initiator,
    ...(expect ? { expect } : {}),
    timeoutMs: 5000,
    ...extra,
  });
}

/** Alice dials Bob by his address keys (IK), asking for `cipher` (default: the channel's). */
export function ik(ra: Duplex, rb: Duplex, cipher?: NoiseCipher): [SecureStream, SecureStream] {
  return [
    secure(
      ra,
      alice,
      true,
      { nodeId: bob.nodeId, x25519: bob.x25519.publicKey },
      cipher ? { cipher } : {},
    ),
    secure(rb, bob, false),
  ];
}

/** Resolves with the error a stream was destroyed with. */
export function failure(s: Duplex): Promise<Error & { code?: string }> {
  return new Promise((resolve) => {
    if (s.errored) resolve(s.errored as Error);
    s.once("error", resolve);
  });
}

/** Reads exactly n bytes (more is an error) without ending the stream. */
export function readN(s: Duplex, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let have = 0;
    const onData = (c: Buffer) => {
      out.push(c);
      have += c.length;
      if (have >= n) {
        s.off("data", onData);
        s.off("error", reject);
        s.pause();
        resolve(Buffer.concat(out));
      }
    };
    s.on("data", onData);
    s.once("error", reject);
  });
}
