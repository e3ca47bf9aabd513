// Bad input during a UDP punch (loopback, port 0): a peer that stops answering, duplicated /
// reordered / truncated probes, a peer clock 30 s off. Each ends with a stream or a typed error
// before the window is over, and leaves no socket or timer behind.
import dgram from "node:dgram";
import { afterEach, expect, test } from "vitest";
import {
  encodeFrame,
  FrameType,
  peerClock,
  type ReliableUdpStream,
  sessionFromToken,
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
