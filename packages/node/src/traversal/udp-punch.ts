import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import { checkMeetingTime } from "./clock.js";
import { type HostPort, TraversalError } from "./errors.js";
import { decodeFrame, encodeFrame, FrameType } from "./rudp-frame.js";
import { type ReliableUdpOptions, ReliableUdpStream, udpSocketLink } from "./rudp-stream.js";

/**
 * Birthday-style probing when one side's NAT maps ports at random (symmetric) and the other's is
 * predictable: the random side opens many sockets towards the peer's one mapping ("many"), the
 * predictable side sprays probes at random ports of the random side's IP ("spray") until one lands
 * on a live mapping. With 256 sockets and 2048 probes, the miss probability is e^-8 (0.03 %).
 */
export type BirthdayRole =
  | { role: "many"; sockets?: number }
  | { role: "spray"; probes?: number; portRange?: [number, number] };

export interface UdpPunchOptions {
  /** A bound socket (e.g. the one whose STUN mapping the peer was told); its ownership moves to the stream. */
  socket?: dgram.Socket;
  /** Otherwise bind this port (0 = any) / address. */
  localPort?: number;
  localAddress?: string;
  /** Peer's public (or LAN) IP and candidate ports (mapped, or predicted). */
  remote: { host: string; ports: number[] };
  /** Accept the peer's probes from any port of `remote.host` (the peer's NAT is symmetric). */
  acceptAnyPort?: boolean;
  /** Shared session id (see `sessionFromToken`): authenticates probes and stream frames. */
  session: number;
  /** Meeting instant in `clock`'s timeframe (epoch ms). */
  at: number;
  clock?: () => number;
  signal?: AbortSignal;
  /** Punching window after `at` (default 5000 ms). */
  timeoutMs?: number;
  /** Probe period per socket and port (default 20 ms). */
  intervalMs?: number;
  /**
   * Spacing of the first probes to successive candidate ports (default 0: all at once). A
   * sequential NAT maps them in the order they reach it, which jitter can shuffle when they
   * leave together (see `candidatePaceMs`); later rounds reuse the mappings and go at once.
   */
  paceMs?: number;
  birthday?: BirthdayRole;
  /** Reject meeting times further ahead than this (default 30 000 ms). */
  maxLeadMs?: number;
  stream?: Omit<ReliableUdpOptions, "session">;
  /** Asked before every probe; false drops it (a stranger's budget). The punch still listens. */
  probeBudget?: () => boolean;
  log?: (line: string) => void;
}

function shuffledPorts(lo: number, hi: number): number[] {
  const a: number[] = [];
  for (let p = lo; p <= hi; p++) a.push(p);
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
  return a;
}

function bind(sock: dgram.Socket, port: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind({ port, address }, () => {
      sock.off("error", reject);
      resolve();
    });
  });
}

/**
 * UDP hole punching: both sides probe each other's candidate ports from the meeting time on; the
 * first authenticated probe (or probe ack) fixes the peer's address and the socket becomes a
 * `ReliableUdpStream`. Every other socket and timer is closed, whatever the outcome.
 */
export async function udpPunch(opts: UdpPunchOptions): Promise<ReliableUdpStream> {
  const clock = opts.clock ?? Date.now;
  const windowMs = opts.timeoutMs ?? 5000;
  const log = opts.log ?? (() => {});
  const family = net.isIP(opts.remote.host);
  const ports = [...new Set(opts.remote.ports)].filter(
    (p) => Number.isInteger(p) && p > 0 && p < 65536,
  );
  const sockets: dgram.Socket[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const cleanupAll = (keep?: dgram.Socket) => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const s of sockets) {
      s.removeAllListeners("message");
      if (s !== keep) {
        try {
          s.close();
        } catch {}
      }
    }
  };
  try {
    // Ours from the start: a refusal below (bad argument, meeting time) closes it too.
    if (opts.socket) sockets.push(opts.socket);
    if (family === 0)
      throw new TraversalError(
        "ERR_BAD_ARGUMENT",
        `remote host must be an IP: ${opts.remote.host}`,
      );
    const spray = opts.birthday?.role === "spray";
    if (ports.length === 0 && !spray)
      throw new TraversalError("ERR_BAD_ARGUMENT", "no remote port to punch");
    // Every candidate is probed every interval: a long list is a spray, which has its own pacing.
    if (ports.length > 256) {
      throw new TraversalError(
        "ERR_BAD_ARGUMENT",
        `${ports.length} candidate ports (max 256; use birthday spray)`,
      );
    }
    checkMeetingTime(opts.at, clock, windowMs, opts.maxLeadMs);
    if (opts.signal?.aborted) throw new TraversalError("ERR_ABORTED", "UDP punch aborted");

    const type = family === 6 ? "udp6" : "udp4";
    if (!opts.socket) {
      const s = dgram.createSocket(type);
      sockets.push(s);
      await bind(s, opts.localPort ?? 0, opts.localAddress);
    }
    if (opts.birthday?.role === "many") {
      const n = Math.min(1024, Math.max(1, opts.birthday.sockets ?? 256));
      for (let i = 1; i < n; i++) {
        const s = dgram.createSocket(type);
        sockets.push(s);
        await bind(s, 0, opts.localAddress);
      }
    }
    for (const s of sockets) s.on("error", () => {});

    const anyPort = opts.acceptAnyPort === true || spray;
    const session = opts.session >>> 0;
    const winner = await new Promise<{ socket: dgram.Socket; peer: HostPort }>(
      (resolve, reject) => {
        let done = false;
        const finish = (err?: Error, w?: { socket: dgram.Socket; peer: HostPort }) => {
          if (done) return;
          done = true;
          opts.signal?.removeEventListener("abort", onAbort);
          for (const t of timers) clearTimeout(t);
          timers.clear();
          if (err) reject(err);
          else if (w) resolve(w);
        };
        const onAbort = () =>
          finish(
            new TraversalError("ERR_ABORTED", "UDP punch aborted", {
              cause: opts.signal?.reason,
            }),
          );
        opts.signal?.addEventListener("abort", onAbort, { once: true });
        const later = (fn: () => void, ms: number) => {
          const t = setTimeout(
            () => {
              timers.delete(t);
              if (!done) fn();
            },
            Math.max(0, ms),
          );
          timers.add(t);
        };
        let probesSent = 0;
        const probe = (s: dgram.Socket, port: number, nonce: number) => {
          if (opts.probeBudget && !opts.probeBudget()) return;
          probesSent++;
          try {
            s.send(encodeFrame({ type: FrameType.probe, session, nonce }), port, opts.remote.host);
          } catch {}
        };
        for (const [i, s] of sockets.entries()) {
          s.on("message", (msg, ri) => {
            if (done) return;
            const host = ri.address.replace(/^::ffff:/, "");
            if (host !== opts.remote.host) return;
            if (!anyPort && !ports.includes(ri.port)) return;
            let f: ReturnType<typeof decodeFrame>;
            try {
              f = decodeFrame(msg);
            } catch {
              return;
            }
            if (f.session !== session) return; // a stranger, or a stale punch
            if (f.type !== FrameType.probe && f.type !== FrameType.probeAck) return;
            if (f.type === FrameType.probe) {
              try {
                s.send(
                  encodeFrame({ type: FrameType.probeAck, session, nonce: f.nonce }),
                  ri.port,
                  ri.address,
                );
              } catch {}
              // The spray side settles on an ack only: the "many" side acks from the one socket it
              // chose, while its other sockets' probes may still cross ours (jitter reorders flows).
              if (spray) return;
            }
            log(`hole via socket ${i} <- ${host}:${ri.port} after ${probesSent} probes`);
            finish(undefined, { socket: s, peer: { host, port: ri.port } });
          });
        }
        const interval = opts.intervalMs ?? 20;
        // A meeting instant already past (the peer started when it answered): start now.
        const startIn = Math.max(0, opts.at - clock());
        if (spray) {
          const b = opts.birthday as { probes?: number; portRange?: [number, number] };
          const [lo, hi] = b.portRange ?? [1024, 65535];
          // Known ports first (cheap wins), then a random permutation of the range.
          const order = [...ports, ...shuffledPorts(lo, hi)].slice(
            0,
            Math.max(1, b.probes ?? 2048) + ports.length,
          );
          const first = sockets[0] as dgram.Socket;
          let idx = 0;
          const perTick = 24; // ~2400 probes/s at 10 ms ticks
          const burst = () => {
            for (let k = 0; k < perTick && idx < order.length; k++, idx++)
              probe(first, order[idx] as number, idx);
            // Keep refreshing the known ports too (the peer's ack may need a second chance).
            if (idx < order.length) later(burst, 10);
            else
              later(() => {
                for (const p of ports) probe(first, p, 0);
                idx = order.length;
              }, 200);
          };
          later(burst, startIn);
        } else if (opts.birthday?.role === "many") {
          const target = ports[0] as number;
          // Every socket opens its mapping towards the peer, then refreshes it at a gentle pace.
          const round = () => {
            sockets.forEach((s, i) => {
              probe(s, target, i);
            });
            later(round, Math.max(200, interval * 10));
          };
          later(round, startIn);
        } else {
          const s = sockets[0] as dgram.Socket;
          const round = () => {
            for (const p of ports) probe(s, p, p);
            later(round, interval);
          };
          const pace = Math.max(0, opts.paceMs ?? 0);
          if (pace === 0 || ports.length < 2) later(round, startIn);
          else {
            // First round: one candidate per `pace`, in list order (the peer predicted that order).
            ports.forEach((p, k) => {
              later(() => probe(s, p, p), startIn + k * pace);
            });
            later(round, startIn + ports.length * pace);
          }
        }
        later(
          () =>
            finish(
              new TraversalError(
                "ERR_PUNCH_TIMEOUT",
                `no UDP hole to ${opts.remote.host}:[${ports.slice(0, 8).join(",")}${ports.length > 8 ? ",…" : ""}] after ${probesSent} probes`,
              ),
            ),
          opts.at + windowMs - clock(),
        );
      },
    );
    cleanupAll(winner.socket);
    const stream = new ReliableUdpStream(udpSocketLink(winner.socket, winner.peer), {
      ...opts.stream,
      session,
    });
    // If our probes never reached the peer, this ack tells it where we are (a spray side waits
    // for exactly this): three copies, so one lost datagram does not strand it.
    const ack = encodeFrame({ type: FrameType.probeAck, session, nonce: 0 });
    for (let i = 0; i < 3; i++) winner.socket.send(ack, winner.peer.port, winner.peer.host);
    return stream;
  } catch (err) {
    cleanupAll();
    throw err;
  }
}
