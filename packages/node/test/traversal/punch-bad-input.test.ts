// Bad input during a UDP punch (loopback, port 0): a peer that stops answering, duplicated /
// reordered / truncated probes, a peer clock 30 s off; and a TCP punch's responder facing a peer
// that stops after connecting and empty, wrong or duplicated selection bytes. Each ends with a
// stream or a typed error before the window is over, and leaves no socket or timer behind.
import dgram from "node:dgram";
import net from "node:net";
import { afterEach, expect, test } from "vitest";
import {
  encodeFrame,
  FrameType,
  peerClock,
  type ReliableUdpStream,
  sessionFromToken,
  tcpPunch,
  udpPunch,
} from "../../src/traversal/index.js";

const open: ReliableUdpStream[] = [];
const sockets: dgram.Socket[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => {})));
  for (const s of sockets.splice(0))
    try {
      s.close();
    } catch {}
});

async function sock(): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  return s;
}
const port = (s: dgram.Socket) => s.address().port;
/** Timers and sockets this process holds (what a leak would add to). */
const handles = () =>
  process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "UDPWRAP").length;

test("a peer that stops answering mid-punch: ERR_PUNCH_TIMEOUT at the window's end, nothing left", async () => {
  const before = handles();
  const a = await sock();
  const peer = await sock();
  sockets.push(peer);
  const session = sessionFromToken("silent");
  // The peer sends two probes of another punch (a stale session) and a truncated one, then goes quiet.
  peer.send(
    encodeFrame({ type: FrameType.probe, session: session + 1, nonce: 1 }),
    port(a),
    "127.0.0.1",
  );
  peer.send(
    encodeFrame({ type: FrameType.probe, session, nonce: 2 }).subarray(0, 5),
    port(a),
    "127.0.0.1",
  );
  const t0 = Date.now();
  await expect(
    udpPunch({
      socket: a,
      remote: { host: "127.0.0.1", ports: [port(peer)] },
      session,
      at: Date.now() + 20,
      timeoutMs: 400,
      intervalMs: 10,
    }),
  ).rejects.toMatchObject({ code: "ERR_PUNCH_TIMEOUT" });
  expect(Date.now() - t0).toBeLessThan(2000);
  peer.close();
  sockets.splice(0);
  await new Promise((r) => setTimeout(r, 50));
  expect(handles()).toBeLessThanOrEqual(before);
});

test("duplicated, reordered and truncated probes: the first whole probe of the session makes the hole", async () => {
  const a = await sock();
  const peer = await sock();
  sockets.push(peer);
  const session = sessionFromToken("noisy");
  const whole = (nonce: number) => encodeFrame({ type: FrameType.probe, session, nonce });
  const punch = udpPunch({
    socket: a,
    remote: { host: "127.0.0.1", ports: [port(peer)] },
    session,
    at: Date.now(),
    timeoutMs: 3000,
  });
  const acks: number[] = [];
  peer.on("message", (m) => acks.push(m[1] ?? -1));
  // Garbage first, truncations of every length, then the same probe three times, nonces out of order.
  const to = (b: Buffer) => peer.send(b, port(a), "127.0.0.1");
  to(Buffer.from("not a frame"));
  for (let n = 1; n < whole(7).length; n++) to(whole(7).subarray(0, n));
  for (const nonce of [9, 9, 3, 9, 1]) to(whole(nonce));
  const stream = await punch;
  open.push(stream);
  expect(stream.remote).toEqual({ host: "127.0.0.1", port: port(peer) });
  await new Promise((r) => setTimeout(r, 50));
  // Answers only whole frames of the session (probe acks and the final ack), never garbage.
  expect(acks.length).toBeGreaterThan(0);
});

test("a peer clock 30 s ahead: the meeting instant in its clock, converted with the offset, still meets", async () => {
  const a = await sock();
  const b = await sock();
  const session = sessionFromToken("skew");
  const skew = 30_000;
  const bClock = () => Date.now() + skew; // b's clock runs 30 s ahead
  const at = bClock() + 100; // b (the answerer) sets the meeting in its own clock
  const t0 = Date.now();
  const [sa, sb] = await Promise.all([
    // a converts with the measured offset (what peerClock(estimateClockOffset(...)) gives).
    udpPunch({
      socket: a,
      remote: { host: "127.0.0.1", ports: [port(b)] },
      session,
      at,
      clock: peerClock({ offsetMs: skew }),
      timeoutMs: 2000,
    }),
    udpPunch({
      socket: b,
      remote: { host: "127.0.0.1", ports: [port(a)] },
      session,
      at,
      clock: bClock,
      timeoutMs: 2000,
    }),
  ]);
  open.push(sa, sb);
  expect(Date.now() - t0).toBeLessThan(1500);
  // Without the conversion the same meeting is 30 s ahead: refused at once, typed, not a hang.
  const c = await sock();
  await expect(
    udpPunch({
      socket: c,
      remote: { host: "127.0.0.1", ports: [port(b)] },
      session,
      at: at + 1000,
      timeoutMs: 2000,
      maxLeadMs: 10_000,
    }),
  ).rejects.toMatchObject({ code: "ERR_PUNCH_TIMING" });
});

// The same over TCP: the responder side of a punch (it keeps the connection that carries the
// initiator's selection byte), listening on loopback port 0.
async function tcpResponder(timeoutMs: number) {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const punch = tcpPunch({
    localAddress: "127.0.0.1",
    localPort: port,
    remote: { host: "127.0.0.1", ports: [] },
    at: Date.now(),
    accept: true,
    role: "responder",
    timeoutMs,
  });
  punch.catch(() => {});
  await new Promise((r) => setTimeout(r, 50));
  return { port, punch };
}
const tcpHandles = () =>
  process
    .getActiveResourcesInfo()
    .filter((r) => r === "Timeout" || r === "TCPServerWrap" || r === "TCPSocketWrap").length;

test("TCP: a peer that connects and then stops (no selection byte): ERR_PUNCH_TIMEOUT at the window's end, nothing left", async () => {
  const before = tcpHandles();
  const t0 = Date.now();
  const { port, punch } = await tcpResponder(500);
  const peer = net.connect({ host: "127.0.0.1", port });
  peer.on("error", () => {});
  await expect(punch).rejects.toMatchObject({ code: "ERR_PUNCH_TIMEOUT" });
  expect(Date.now() - t0).toBeLessThan(2000);
  // The half-open candidate was dropped by the responder.
  await new Promise<void>((r) => (peer.destroyed ? r() : peer.once("close", () => r())));
  await new Promise((r) => setTimeout(r, 50));
  expect(tcpHandles()).toBeLessThanOrEqual(before);
});

test("TCP: truncated (empty), wrong and duplicated selection bytes: only a whole selection wins, its payload intact", async () => {
  const { port, punch } = await tcpResponder(3000);
  const closed = (s: net.Socket) =>
    new Promise<void>((r) => (s.destroyed ? r() : s.once("close", () => r())));
  // Connects and ends without a byte (a truncated exchange), then a wrong byte.
  const empty = net.connect({ host: "127.0.0.1", port }, () => empty.end());
  empty.on("error", () => {});
  const wrong = net.connect({ host: "127.0.0.1", port }, () => wrong.write(Buffer.from([0x7f])));
  wrong.on("error", () => {});
  await Promise.all([closed(empty), closed(wrong)]);
  // The real one, its selection byte duplicated: the second 0x01 is payload, not a new selection.
  const chosen = net.connect({ host: "127.0.0.1", port });
  chosen.write(Buffer.from([0x01, 0x01, ...Buffer.from("ok")]));
  const s = await punch;
  const got = await new Promise<Buffer>((r) => s.once("data", r));
  expect([...got]).toEqual([0x01, ...Buffer.from("ok")]);
  s.destroy();
  chosen.destroy();
});
