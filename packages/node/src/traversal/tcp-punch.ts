import { createHash } from "node:crypto";
import net from "node:net";
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
  /** Pause before reconnecting the same 4-tuple after a refusal (default 10 ms). */
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
  /** Wait this long after the first success for a second tuple, then keep the same one as the peer. */
  settleMs?: number;
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

function tupleRank(s: net.Socket): string {
  // Same value on both ends: sort the two endpoints so the order does not depend on the side.
  const a = `${s.localAddress}:${s.localPort}`;
  const b = `${s.remoteAddress}:${s.remotePort}`;
  return createHash("sha256").update([a, b].sort().join("|")).digest("hex");
}

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
        "ERR_INVALID_ARGUMENT",
        `remote host must be an IP: ${opts.remote.host}`,
      );
    }
    if (ports.length === 0 && !opts.accept) {
      throw new TraversalError("ERR_INVALID_ARGUMENT", "no remote port to punch");
    }
    const lead = opts.at - clock();
    if (!Number.isFinite(lead) || lead > (opts.maxLeadMs ?? 30_000)) {
      throw new TraversalError(
        "ERR_PUNCH_TIMING",
        `meeting time ${lead} ms ahead is not plausible`,
      );
    }
    if (lead < -windowMs) {
      throw new TraversalError("ERR_PUNCH_TIMING", `meeting time passed ${-lead} ms ago`);
    }
    if (opts.signal?.aborted) throw new TraversalError("ERR_PUNCH_ABORTED", "TCP punch aborted");
    const deadline = opts.at + windowMs;
    return opts.accept
      ? await acceptPunch(opts, clock, deadline, log)
      : await dialPunch(opts, ports, clock, deadline, log);
  } finally {
    opts.mapping?.close();
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
  const connected: net.Socket[] = [];
  let firstAt = 0;
  let attempts = 0;
  let lastErr = "";
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onOuterAbort, { once: true });
  let wake: () => void = () => {};
  const won = new Promise<void>((r) => {
    wake = r;
  });

  const attemptOnce = (port: number) =>
    new Promise<net.Socket | undefined>((resolve) => {
      attempts++;
      const s = net.connect({
        host: opts.remote.host,
        port,
        localAddress: opts.localAddress,
        localPort: opts.localPort,
      });
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

  const loop = async (port: number) => {
    // Wait for the meeting time on the shared clock.
    const wait = opts.at - clock();
    if (wait > 0) await sleep(wait, stop.signal);
    while (!stop.signal.aborted && clock() < deadline) {
      const s = await attemptOnce(port);
      if (s) {
        s.on("error", () => {});
        connected.push(s);
        if (!firstAt) firstAt = Date.now();
        wake();
        return;
      }
      if (stop.signal.aborted) return;
      await sleep(opts.retryDelayMs ?? 10, stop.signal);
    }
  };

  const loops = Promise.all(ports.map((p) => loop(p)));
  const ended = loops.then(() => "ended" as const);
  let outcome = await Promise.race([won.then(() => "won" as const), ended]);
  if (outcome === "won" && ports.length > 1) {
    // Let a second tuple finish so both sides choose among the same set.
    const settle = opts.settleMs ?? 60;
    await Promise.race([sleep(settle, stop.signal), ended]);
  }
  stop.abort();
  opts.signal?.removeEventListener("abort", onOuterAbort);
  await loops;
  const aborted = opts.signal?.aborted === true;
  connected.sort((a, b) => (tupleRank(a) < tupleRank(b) ? -1 : 1));
  const winner = aborted ? undefined : connected[0];
  for (const s of live) if (s !== winner) s.destroy();
  if (aborted)
    throw new TraversalError("ERR_PUNCH_ABORTED", "TCP punch aborted", {
      cause: opts.signal?.reason,
    });
  if (!winner) {
    outcome = "ended";
    throw new TraversalError(
      "ERR_PUNCH_TIMEOUT",
      `no TCP hole to ${opts.remote.host}:[${ports.join(",")}] after ${attempts} attempts (last: ${lastErr})`,
    );
  }
  winner.removeAllListeners("error");
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
  const server = net.createServer({ pauseOnConnect: true });
  // close() stops accepting; its callback would wait for the accepted socket too, so do not await.
  const closeServer = () => {
    if (server.listening) server.close();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: Error & { code?: string }) =>
        reject(
          new TraversalError(
            "ERR_INVALID_ARGUMENT",
            `cannot listen on ${opts.localPort}: ${e.code ?? e.message}`,
          ),
        ),
      );
      server.listen({ port: opts.localPort, host: opts.localAddress, exclusive: true }, () =>
        resolve(),
      );
    });
    return await new Promise<net.Socket>((resolve, reject) => {
      const t = setTimeout(
        () =>
          finish(
            new TraversalError("ERR_PUNCH_TIMEOUT", `no inbound TCP from ${opts.remote.host}`),
          ),
        Math.max(0, deadline - clock()),
      );
      const onAbort = () =>
        finish(
          new TraversalError("ERR_PUNCH_ABORTED", "TCP punch aborted", {
            cause: opts.signal?.reason,
          }),
        );
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      function finish(err?: Error, s?: net.Socket) {
        clearTimeout(t);
        opts.signal?.removeEventListener("abort", onAbort);
        server.off("connection", onConn);
        if (err) reject(err);
        else if (s) resolve(s);
      }
      function onConn(s: net.Socket) {
        const from = (s.remoteAddress ?? "").replace(/^::ffff:/, "");
        if (from !== opts.remote.host) {
          log(`refusing inbound from ${from}`);
          s.destroy();
          return;
        }
        s.resume();
        finish(undefined, s);
      }
      server.on("connection", onConn);
    });
  } finally {
    closeServer();
  }
}
