import net from "node:net";
import { checkMeetingTime } from "./clock.js";
import { TraversalError } from "./errors.js";

export interface TcpPunchOptions {
  /** Fixed local port every attempt binds (the one whose mapping the peer was told). */
  localPort: number;
  localAddress?: string;
  /** Peer's public (or LAN) IP and candidate ports: its mapped port, or predicted ones. */
  remote: { host: string; ports: number[] };
  /** Meeting instant, in `clock`'s timeframe (epoch ms). */
  at: number;
  /** Clock shared with the peer (default Date.now; see `peerClock`). */
  clock?: () => number;
  signal?: AbortSignal;
  /** Punching window after `at` (default 6000 ms). */
  timeoutMs?: number;
  /** Pause before reconnecting the same 4-tuple (default: none after a refusal, 10 ms otherwise). */
  retryDelayMs?: number;
  /** One connect attempt's lifetime (default 2000 ms: the kernel retransmits the SYN at 1 s). */
  attemptTimeoutMs?: number;
  /**
   * Listen on `localPort` instead of dialing: for a reachable side (open / full cone, or a
   * restricted cone that already sent to the peer's IP) facing a peer whose port cannot be
   * predicted. Accepts only connections from `remote.host`.
   */
  accept?: boolean;
  /** Reject meeting times further ahead than this (default 30 000 ms). */
  maxLeadMs?: number;
  /**
   * Which side picks the connection when several candidate tuples connect (possible with
   * predicted port lists): the initiator sends one selection byte (0x01) on its first connection,
   * the responder keeps the connection that carries it. The byte is consumed here. Without a role
   * the first connection wins, which is only safe with a single candidate tuple.
   */
  role?: "initiator" | "responder";
  /** Delay between the first SYNs to successive candidate ports (default 3 ms). */
  staggerMs?: number;
  /** Something keeping the NAT mapping alive (e.g. `openTcpMapping`): closed when punching ends. */
  mapping?: { close(): void };
  log?: (line: string) => void;
}

const RETRYABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EADDRINUSE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
]);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * TCP hole punching by simultaneous open: at the meeting time both sides dial each other from
 * fixed ports, retrying on refusals until the window closes. Resolves with the connected socket;
 * every other socket, timer and the mapping keeper are closed whatever the outcome.
 */
export async function tcpPunch(opts: TcpPunchOptions): Promise<net.Socket> {
  const clock = opts.clock ?? Date.now;
  const windowMs = opts.timeoutMs ?? 6000;
  const ports = [...new Set(opts.remote.ports)].filter(
    (p) => Number.isInteger(p) && p > 0 && p < 65536,
  );
  const log = opts.log ?? (() => {});
  try {
    if (!net.isIP(opts.remote.host)) {
      throw new TraversalError(
        "ERR_BAD_ARGUMENT",
        `remote host must be an IP: ${opts.remote.host}`,
      );
    }
    // One socket per candidate port from the same local port: keep that bounded.
    if (ports.length > 64) {
      throw new TraversalError("ERR_BAD_ARGUMENT", `${ports.length} candidate ports (max 64)`);
    }
    if (ports.length === 0 && !opts.accept) {
      throw new TraversalError("ERR_BAD_ARGUMENT", "no remote port to punch");
    }
    checkMeetingTime(opts.at, clock, windowMs, opts.maxLeadMs);
    if (opts.signal?.aborted) throw new TraversalError("ERR_ABORTED", "TCP punch aborted");
    const deadline = opts.at + windowMs;
    return opts.accept
      ? await acceptPunch(opts, clock, deadline, log)
      : await dialPunch(opts, ports, clock, deadline, log);
  } finally {
    opts.mapping?.close();
  }
}

const SELECT = 0x01;

/** Collects connected candidates and settles on exactly one (see `role`). */
class Selector {
  winner: net.Socket | undefined;
  private readonly pending = new Set<net.Socket>();
  private wake: () => void = () => {};
  readonly won = new Promise<void>((r) => {
    this.wake = r;
  });
  constructor(private readonly role: TcpPunchOptions["role"]) {}

  offer(s: net.Socket): void {
    s.on("error", () => {}); // RSTs on losing candidates must not crash the process
    if (this.winner) {
      s.destroy();
      return;
    }
    if (this.role === "responder") {
      this.pending.add(s);
      const onReadable = () => {
        const b = s.read(1) as Buffer | null;
        if (b === null) return;
        s.off("readable", onReadable);
        this.pending.delete(s);
        if (b[0] === SELECT && !this.winner) this.win(s);
        else s.destroy();
      };
      s.on("readable", onReadable);
      s.once("close", () => this.pending.delete(s));
      return;
    }
    if (this.role === "initiator") s.write(Buffer.from([SELECT]));
    this.win(s);
  }

  private win(s: net.Socket): void {
    this.winner = s;
    for (const p of this.pending) p.destroy();
    this.pending.clear();
    this.wake();
  }

  dropAll(): void {
    for (const p of this.pending) p.destroy();
    this.pending.clear();
  }
}

async function dialPunch(
  opts: TcpPunchOptions,
  ports: number[],
  clock: () => number,
  deadline: number,
  log: (l: string) => void,
): Promise<net.Socket> {
  const stop = new AbortController();
  const live = new Set<net.Socket>();
  const sel = new Selector(opts.role);
  let attempts = 0;
  let lastErr = "";
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onOuterAbort, { once: true });

  const attemptOnce = (port: number) =>
    new Promise<net.Socket | undefined>((resolve) => {
      attempts++;
      const s = net.connect({
        host: opts.remote.host,
        port,
        localAddress: opts.localAddress,
        localPort: opts.localPort,
      });
      // The selection byte and the secure handshake's first message go out back to back: Nagle
      // would hold the second until the first is acknowledged (one more round trip).
      s.setNoDelay(true);
      live.add(s);
      const t = setTimeout(
        () => finish(new Error("attempt timeout")),
        opts.attemptTimeoutMs ?? 2000,
      );
      const onStop = () => finish(new Error("stopped"));
      stop.signal.addEventListener("abort", onStop, { once: true });
      function finish(err?: Error & { code?: string }) {
        clearTimeout(t);
        stop.signal.removeEventListener("abort", onStop);
        s.off("connect", onConnect);
        if (err) {
          lastErr = err.code ?? err.message;
          s.destroy();
          live.delete(s);
          resolve(undefined);
        } else resolve(s);
      }
      function onConnect() {
        finish();
      }
      s.once("connect", onConnect);
      s.once("error", (e: Error & { code?: string }) => {
        if (e.code && !RETRYABLE.has(e.code)) log(`connect: ${e.code}`);
        finish(e);
      });
    });

  // A meeting instant already past (the peer dials from when it answered): start now.
  const start = Math.max(opts.at, clock());
  const loop = async (port: number, index: number) => {
    // Wait for the meeting time on the shared clock; stagger candidates so a sequential NAT
    // hands out its next ports in candidate order (the peer predicted them in that order).
    const wait = start + index * (opts.staggerMs ?? 3) - clock();
    if (wait > 0) await sleep(wait, stop.signal);
    while (!stop.signal.aborted && !sel.winner && clock() < deadline) {
      const s = await attemptOnce(port);
      if (s) {
        sel.offer(s);
        return;
      }
      if (stop.signal.aborted) return;
      // A refusal means the peer's kernel answered (no NAT dropped our SYN): its socket was not in
      // SYN_SENT yet, so dial again at once to hit that window (core-api §9.4: 10/10 this way).
      const refused = lastErr === "ECONNREFUSED" || lastErr === "ECONNRESET";
      if (refused && opts.retryDelayMs === undefined) await new Promise((r) => setImmediate(r));
      else await sleep(opts.retryDelayMs ?? 10, stop.signal);
    }
  };

  const loops = Promise.all(ports.map((p, i) => loop(p, i)));
  // A responder may still be waiting for the selection byte when the dial loops end.
  const timeLeft = () => Math.max(0, deadline - clock());
  await Promise.race([
    sel.won,
    loops.then(() =>
      opts.role === "responder" && !sel.winner ? sleep(timeLeft(), stop.signal) : undefined,
    ),
    new Promise<void>((r) => stop.signal.addEventListener("abort", () => r(), { once: true })),
  ]);
  stop.abort();
  opts.signal?.removeEventListener("abort", onOuterAbort);
  await loops;
  sel.dropAll();
  const aborted = opts.signal?.aborted === true;
  const winner = aborted ? undefined : sel.winner;
  for (const s of live) if (s !== winner) s.destroy();
  if (aborted) {
    winner?.destroy();
    throw new TraversalError("ERR_ABORTED", "TCP punch aborted", {
      cause: opts.signal?.reason,
    });
  }
  if (!winner) {
    throw new TraversalError(
      "ERR_PUNCH_TIMEOUT",
      `no TCP hole to ${opts.remote.host}:[${ports.join(",")}] after ${attempts} attempts (last: ${lastErr})`,
    );
  }
  log(
    `connected ${winner.localPort} -> ${winner.remoteAddress}:${winner.remotePort} after ${attempts} attempts`,
  );
  return winner;
}

async function acceptPunch(
  opts: TcpPunchOptions,
  clock: () => number,
  deadline: number,
  log: (l: string) => void,
): Promise<net.Socket> {
  // Accepted sockets stay paused (no 'data' listener yet), so nothing is lost before the hand-over.
  const server = net.createServer();
  const sel = new Selector(opts.role);
  // close() stops accepting; its callback would wait for the accepted socket too, so do not await.
  const closeServer = () => {
    if (server.listening) server.close();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: Error & { code?: string }) =>
        reject(
          new TraversalError(
            "ERR_BAD_ARGUMENT",
            `cannot listen on ${opts.localPort}: ${e.code ?? e.message}`,
          ),
        ),
      );
      server.listen({ port: opts.localPort, host: opts.localAddress, exclusive: true }, () =>
        resolve(),
      );
    });
    server.on("connection", (s: net.Socket) => {
      s.setNoDelay(true);
      const from = (s.remoteAddress ?? "").replace(/^::ffff:/, "");
      if (from !== opts.remote.host) {
        log(`refusing inbound from ${from}`);
        s.destroy();
        return;
      }
      sel.offer(s);
    });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new TraversalError("ERR_PUNCH_TIMEOUT", `no inbound TCP from ${opts.remote.host}`),
            ),
          Math.max(0, deadline - clock()),
        );
        onAbort = () =>
          reject(
            new TraversalError("ERR_ABORTED", "TCP punch aborted", {
              cause: opts.signal?.reason,
            }),
          );
        if (opts.signal?.aborted) onAbort();
        opts.signal?.addEventListener("abort", onAbort, { once: true });
        sel.won.then(resolve);
      });
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener("abort", onAbort);
      sel.dropAll();
    }
    return sel.winner as net.Socket;
  } finally {
    closeServer();
  }
}
