import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { secureTransport } from "../../src/secure/transport.js";
import { ReliableUdpStream, udpSocketLink } from "../../src/traversal/index.js";
import { alice, bob, readN } from "./helpers.js";

// The secure channel over a message transport: the reliable UDP stream on real loopback UDP
// sockets, through a forwarder that loses and reorders datagrams.

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) {
    try {
      await o.close();
    } catch {}
  }
});

async function sock(): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  open.push(s);
  return s;
}

describe("secureTransport over reliable UDP", () => {
  it("handshake and 300 KB both ways through a lossy, reordering forwarder", async () => {
    const a = await sock();
    const b = await sock();
    const pa = await sock();
    const pb = await sock();
    let n = 0;
    const captured: Buffer[] = [];
    const fwd = (from: dgram.Socket, to: number) => (msg: Buffer) => {
      captured.push(Buffer.from(msg));
      if (++n % 11 === 0) return; // lost
      const go = () => {
        try {
          from.send(msg, to, "127.0.0.1");
        } catch {}
      };
      if (n % 7 === 0) setTimeout(go, 10);
      else go();
    };
    pb.on("message", fwd(pa, b.address().port));
    pa.on("message", fwd(pb, a.address().port));
    const opts = { session: 9, closeTimeoutMs: 100 };
    const ua = new ReliableUdpStream(
      udpSocketLink(a, { host: "127.0.0.1", port: pb.address().port }, { closeSocket: false }),
      opts,
    );
    const ub = new ReliableUdpStream(
      udpSocketLink(b, { host: "127.0.0.1", port: pa.address().port }, { closeSocket: false }),
      opts,
    );
    open.push(ua, ub);
    const sa = secureTransport(ua, {
      identity: alice,
      initiator: true,
      expect: { nodeId: bob.nodeId, x25519: bob.x25519.publicKey },
    });
    const sb = secureTransport(ub, { identity: bob, initiator: false });
    const [peerA, peerB] = await Promise.all([sa.ready, sb.ready]);
    expect(peerA.nodeId).toBe(bob.nodeId);
    expect(peerB.nodeId).toBe(alice.nodeId);
    const big = randomBytes(300_000);
    const marker = Buffer.from("plaintext marker that must not appear on the wire");
    sa.write(Buffer.concat([marker, big]));
    sb.write(marker);
    const got = await readN(sb, marker.length + big.length);
    expect(got.equals(Buffer.concat([marker, big]))).toBe(true);
    expect((await readN(sa, marker.length)).equals(marker)).toBe(true);
    expect(Buffer.concat(captured).includes(marker)).toBe(false);
    sa.destroy();
    sb.destroy();
  }, 30_000);
});
