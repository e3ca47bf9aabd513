import { setMaxListeners } from "node:events";
import { networkInterfaces } from "node:os";
import { resolveServer, type StunClient } from "@p2pd/stun";
import type { ChangeOutcome, Observations, ServerObservation } from "./classify.js";
import type { PortSample } from "./delta.js";
import { abortError, NatError } from "./errors.js";
import { PathTiming } from "./rtt.js";
import { type ProbeSocket, ProbeSockets } from "./sockets.js";
import type { Endpoint, Family } from "./types.js";

/** Timing knobs, all derived from the measured round trips where possible. */
export interface ProbeTiming {
  /** Cap for a server's first answer, ms (default 2000). No answer by then => that server is silent. */
  firstAnswerMs?: number;
  /**
   * "Nothing came back" is decided this many ms after the latest moment an answer could have come: the
   * send time plus the slowest round trip seen so far (default 25). Several copies of each probe go out
   * inside it, so a lost packet or two does not flip the verdict.
   */
  minWaitMs?: number;
  /** That margin is at least rttFactor x the spread of the round trips seen (jitter; default 0.25). */
  rttFactor?: number;
  /** First retransmission of the very first requests, before any RTT is known, ms (default 50; doubles). */
  initialRtoMs?: number;
}

export interface ProbeOptions extends ProbeTiming {
  servers: readonly (string | Endpoint)[];
  family?: Family;
  /** Local IP to bind (default: the wildcard address). */
  localAddress?: string;
  /** Mapping samples per delta round (default 8). */
  deltaSamples?: number;
  /** This host's addresses (default: from os.networkInterfaces()). */
  localAddresses?: readonly string[];
  signal?: AbortSignal;
  progress?: (line: string) => void;
}

export interface ProbeResult {
  observations: Observations;
  /** Delta round on OS-chosen local ports, and on consecutive local ports, in creation order. */
  spread: (PortSample | null)[];
  consecutive: (PortSample | null)[];
  /** Which server (index) the delta probes went to. */
  deltaServer: number;
}

/** Parses "host:port" / "[v6]:port" / "host" (port 3478) and resolves names in the wanted family. */
export async function resolveStunServer(
  server: string | Endpoint,
  family: Family,
  signal?: AbortSignal,
): Promise<Endpoint> {
  if (signal?.aborted) throw abortError(signal);
  try {
    const to = await resolveServer(
      typeof server === "string" ? server : { host: server.host, port: server.port },
      { family, signal },
    );
    return { host: to.host, port: to.port, family };
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    const why = (err as Error).message;
    throw new NatError(
      "ERR_NAT_BAD_ARGUMENT",
      typeof server === "string" && why.startsWith("bad server address")
        ? `bad STUN server "${server}" (want HOST:PORT)`
        : `STUN server ${typeof server === "string" ? server : fmt(server)}: ${why}`,
      { cause: err },
    );
  }
}

/** This host's interface addresses of one family (mapped == one of them => no NAT). */
export function hostAddresses(family: Family): string[] {
  const out: string[] = [];
  let all: ReturnType<typeof networkInterfaces>;
  try {
    all = networkInterfaces();
  } catch {
    return out; // some sandboxes refuse the query: then only localAddress can prove "no NAT"
  }
  for (const list of Object.values(all)) {
    for (const a of list ?? []) {
      if ((a.family === "IPv4" ? 4 : 6) === family) out.push(a.address.replace(/%.*$/, ""));
    }
  }
  return out;
}

/**
 * Runs every probe at once (RFC 5780 tests per server on separate sockets, so one test's outbound packets
 * never open the filter another test checks) and returns the raw observations.
 * Sockets: one mapping socket shared by all servers (same local port towards every server IP), one
 * filtering socket per server (it only ever talks to that server's primary), and 2 x deltaSamples sockets for
 * the delta rounds. All are closed before this resolves.
 */
export async function probeNat(options: ProbeOptions): Promise<ProbeResult> {
  const family = options.family ?? 4;
  const signal = options.signal;
  const firstAnswerMs = options.firstAnswerMs ?? 2000;
  const minWaitMs = options.minWaitMs ?? 25;
  const rttFactor = options.rttFactor ?? 0.25;
  const initialRto = options.initialRtoMs ?? 50;
  const n = options.deltaSamples ?? 8;
  const say = options.progress ?? (() => {});
  if (signal?.aborted) throw abortError(signal);
  if (!options.servers.length) throw new NatError("ERR_NAT_NO_SERVERS", "no STUN servers given");
  const servers = await Promise.all(
    options.servers.map((s) => resolveStunServer(s, family, signal)),
  );
  const names = servers.map(fmt);

  const inner = new AbortController();
  setMaxListeners(0, inner.signal); // one listener per in-flight transaction
  const stop = () => inner.abort(signal?.reason);
  signal?.addEventListener("abort", stop, { once: true });
  const pool = new ProbeSockets(family, options.localAddress);
  const open = (port = 0) => pool.open(port, signal);
  try {
    // Delta rounds first, in one burst each: on a sequential NAT every new mapping takes the next port,
    // so no other probe may create mappings in between.
    const spreadSockets = await Promise.all(Array.from({ length: n }, () => open()));
    const consecutiveSockets = await bindConsecutive(n, open, signal);
    const mapping = await open();
    const filters = await Promise.all(servers.map(() => open()));
    say(`probing ${names.join(", ")} from ${pool.size} sockets`);

    // Every answer's round trip: the slowest bounds when a still-missing answer could come, their
    // spread (jitter) widens the margin after it, and so does the loss seen (answers only a
    // retransmission brought), so that more copies of each change test go out before "nothing came
    // back" (36% loss: ~12 instead of ~5).
    let firstAnswerAt = 0;
    const path = new PathTiming(initialRto);
    const answered = (sentAt: number) => {
      if (!firstAnswerAt) firstAnswerAt = performance.now();
      path.add(performance.now() - sentAt);
    };
    const margin = () =>
      Math.max(minWaitMs, rttFactor * (path.max - path.min)) + 250 * path.lossRatio;
    // Before any RTT is known, retransmit early (a lost first packet must not cost a 500 ms RTO).
    const early = { rto: initialRto, rc: 12, rm: 16 };
    // A server (or a delta probe) is silent when nothing came by firstAnswerMs, or well after the
    // first answer: a retransmission had time to come back by then.
    const firstAnswer = (client: StunClient, to: Endpoint) => {
      const t = performance.now();
      return raceSlow(
        client.binding(to, { ...early, signal: inner.signal, timeoutMs: firstAnswerMs }),
        () =>
          firstAnswerAt ? firstAnswerAt + initialRto + 2 * path.max + 2 * margin() : undefined,
      ).then((r) => {
        if (r) answered(t);
        return r;
      });
    };

    const deltaServer = 0;
    const deltaTo = servers[deltaServer] as Endpoint;
    const sample = (sock: ProbeSocket) =>
      firstAnswer(sock.client, deltaTo).then((r) =>
        r ? { local: sock.port, mapped: r.mapped.port } : null,
      );
    const spreadP = Promise.all(spreadSockets.map(sample));
    await tick();
    const consecutiveP = Promise.all(consecutiveSockets.map(sample));
    await tick();

    const perServer = servers.map(async (primary, i): Promise<ServerObservation> => {
      const obs: ServerObservation = { server: names[i] as string, primary };
      const filter = filters[i] as ProbeSocket;
      // The tests start on the first of the two answers (under jitter the other may come tens of ms
      // later); the change tests wait for their own socket's answer.
      const fP = firstAnswer(filter.client, primary);
      const mP = firstAnswer(mapping.client, primary);
      const settle = async () => {
        const [f, m] = await Promise.all([fP, mP]);
        if (f) obs.filterMapped = toEndpoint(f.mapped);
        if (m) obs.mapPrimary = toEndpoint(m.mapped);
        return f;
      };
      const first = await firstOf(fP, mP);
      if (!first) {
        await settle();
        return obs;
      }
      obs.rttMs = Math.round(first.rtt * 100) / 100;
      const other = first.otherAddress;
      // RFC 5780: the other address differs in both IP and port; anything else is not worth a packet.
      if (
        !other ||
        other.family !== family ||
        isUnspecified(other.host) ||
        other.host.toLowerCase() === primary.host.toLowerCase() ||
        other.port === primary.port
      ) {
        await settle();
        return obs;
      }
      obs.other = toEndpoint(other);
      // The window for the change tests closes `margin` after the latest moment their answer could
      // come (sent now, back within the slowest round trip seen). A control binding sent with them
      // keeps it open for a server or host slowed down meanwhile (loaded machine, queueing).
      let sentAt = performance.now();
      const windowAc = new AbortController();
      const windowSignal = AbortSignal.any([inner.signal, windowAc.signal]);
      let windowTimer: NodeJS.Timeout | undefined;
      let controlAt = 0;
      const closeAt = () => Math.max(sentAt + path.max, controlAt) + margin();
      const arm = () => {
        if (windowSignal.aborted) return;
        const left = closeAt() - performance.now();
        if (left > 0) {
          windowTimer = setTimeout(arm, left);
          return;
        }
        // One more turn of the event loop first: answers already queued on the sockets are read
        // before the verdict (a timer can fire ahead of I/O after the process was descheduled).
        windowTimer = setTimeout(() => windowAc.abort(), 0);
      };
      const controlSentAt = sentAt;
      const controlClient = (await Promise.race([fP, Promise.resolve(undefined)]))
        ? filter.client
        : mapping.client;
      controlClient
        .binding(primary, { ...early, timeoutMs: firstAnswerMs, signal: windowSignal })
        .then(
          () => {
            answered(controlSentAt);
            controlAt = performance.now();
          },
          () => {},
        );
      // The window opens once the filtering socket has its answer too (its change tests go out then).
      void fP.then(() => {
        sentAt = Math.max(sentAt, performance.now());
        arm();
      });
      // A fresh single-packet transaction every `gap` ms while an answer could still make the window;
      // two at once to start: under loss, "no answer" then means several packets went unanswered.
      const gap = 10;
      const once = { rto: gap, rc: 1, rm: 1000, timeoutMs: firstAnswerMs, signal: windowSignal };
      const change = async (changeIp: boolean, expect: Endpoint): Promise<ChangeOutcome> => {
        if (!(await fP)) return "silent";
        const r = await staggered(
          () =>
            filter.client.request(primary, {
              changeIp,
              changePort: true,
              expectFrom: "any",
              ...once,
            }),
          gap,
          windowSignal,
          () => performance.now() + path.max < closeAt(),
        );
        if (inner.signal.aborted) throw abortError(signal);
        return r === undefined ? "silent" : sameEp(r.from, expect) ? "answered" : "wrong-source";
      };
      const alt = async () => {
        const r = await staggered(
          () => mapping.client.binding(other, once),
          gap,
          windowSignal,
          () => performance.now() + path.max < closeAt(),
        );
        if (inner.signal.aborted) throw abortError(signal);
        return r === undefined ? undefined : toEndpoint(r.mapped);
      };
      let both: ChangeOutcome;
      let port: ChangeOutcome;
      let mapAlt: Endpoint | undefined;
      let f: StunResponseLike | undefined;
      try {
        [both, port, mapAlt, f] = await Promise.all([
          change(true, other),
          change(false, { host: primary.host, port: other.port, family }),
          alt(),
          settle(),
        ]);
      } finally {
        if (windowTimer) clearTimeout(windowTimer);
        windowAc.abort();
      }
      if (f) {
        obs.changeBoth = both;
        obs.changePort = port;
      }
      if (mapAlt) obs.mapAlternate = mapAlt;
      return obs;
    });

    const [observed, spread, consecutive] = await Promise.all([
      Promise.all(perServer),
      spreadP,
      consecutiveP,
    ]);
    if (signal?.aborted) throw abortError(signal);
    const answeredCount = observed.filter((o) => o.filterMapped || o.mapPrimary).length;
    say(`${answeredCount} of ${servers.length} servers answered`);
    return {
      observations: {
        localAddresses: options.localAddresses ?? [
          ...hostAddresses(family),
          ...(options.localAddress ? [options.localAddress] : []),
        ],
        mapLocalPort: mapping.port,
        filterLocalPorts: filters.map((x) => x.port),
        servers: observed,
      },
      spread,
      consecutive,
      deltaServer,
    };
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    throw err;
  } finally {
    signal?.removeEventListener("abort", stop);
    inner.abort();
    await pool.close();
  }
}

/** One more delta round against a given server (used when the first delta server turned out untrusted). */
export async function probeDelta(
  server: Endpoint,
  options: {
    family: Family;
    localAddress?: string;
    samples?: number;
    timeoutMs?: number;
    signal?: AbortSignal;
  },
): Promise<{ spread: (PortSample | null)[]; consecutive: (PortSample | null)[] }> {
  const n = options.samples ?? 8;
  if (options.signal?.aborted) throw abortError(options.signal);
  const pool = new ProbeSockets(options.family, options.localAddress);
  const open = (port = 0) => pool.open(port, options.signal);
  try {
    const a = await Promise.all(Array.from({ length: n }, () => open()));
    const b = await bindConsecutive(n, open, options.signal);
    const one = (x: ProbeSocket) =>
      x.client
        .binding(server, { timeoutMs: options.timeoutMs ?? 2000, signal: options.signal })
        .then((r) => ({ local: x.port, mapped: r.mapped.port }))
        .catch(() => null);
    const spread = Promise.all(a.map(one));
    await tick();
    const consecutive = Promise.all(b.map(one));
    return { spread: await spread, consecutive: await consecutive };
  } catch (err) {
    if (options.signal?.aborted) throw abortError(options.signal);
    throw err;
  } finally {
    await pool.close();
  }
}

async function bindConsecutive<T>(
  n: number,
  open: (port: number) => Promise<T>,
  signal?: AbortSignal,
): Promise<T[]> {
  for (let attempt = 0; attempt < 8; attempt++) {
    if (signal?.aborted) throw abortError(signal);
    const start = 20000 + Math.floor(Math.random() * 40000);
    const got: T[] = [];
    try {
      for (let i = 0; i < n; i++) got.push(await open(start + i));
      return got;
    } catch {
      // a port in the run is taken: try another run (the failed sockets are closed with the rest)
    }
  }
  return [];
}

/**
 * Starts `send()` now and again every `gap` ms until one succeeds (its value) or `window` aborts and every
 * attempt has failed (undefined).
 */
function staggered<T>(
  send: () => Promise<T>,
  gap: number,
  window: AbortSignal,
  worthIt: () => boolean = () => true,
): Promise<T | undefined> {
  return new Promise((resolve) => {
    let pending = 0;
    let done = false;
    const finish = (v: T | undefined) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      window.removeEventListener("abort", onWindow);
      resolve(v);
    };
    const onWindow = () => {
      clearInterval(timer);
      if (pending === 0) finish(undefined);
    };
    const fire = () => {
      if (done || window.aborted || (pending > 1 && !worthIt())) return;
      pending++;
      send().then(finish, () => {
        pending--;
        if (window.aborted && pending === 0) finish(undefined);
      });
    };
    const timer = setInterval(fire, gap);
    window.addEventListener("abort", onWindow, { once: true });
    if (window.aborted) return onWindow();
    fire();
    fire();
  });
}

type StunResponseLike = Awaited<ReturnType<StunClient["binding"]>>;

/** The first of two that resolves to a value, else undefined once both have resolved empty. */
function firstOf<T>(a: Promise<T | undefined>, b: Promise<T | undefined>): Promise<T | undefined> {
  return new Promise((resolve) => {
    let left = 2;
    const one = (v: T | undefined) => {
      if (v !== undefined) resolve(v);
      else if (--left === 0) resolve(undefined);
    };
    a.then(one);
    b.then(one);
  });
}

/** Resolves undefined instead of throwing on timeout, and gives up early once `cutoff()` passes. */
async function raceSlow<T>(
  p: Promise<T>,
  cutoff: () => number | undefined,
): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const early = new Promise<undefined>((resolve) => {
    const check = () => {
      const at = cutoff();
      if (at !== undefined && performance.now() >= at) return resolve(undefined);
      timer = setTimeout(check, at === undefined ? 25 : Math.max(1, at - performance.now()));
    };
    check();
  });
  try {
    return await Promise.race([p.catch(() => undefined), early]);
  } finally {
    if (timer) clearTimeout(timer);
    p.catch(() => {});
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

function toEndpoint(e: { host: string; port: number; family: 4 | 6 }): Endpoint {
  return { host: e.host, port: e.port, family: e.family };
}

function sameEp(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  return a.port === b.port && a.host.toLowerCase() === b.host.toLowerCase();
}

function isUnspecified(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

export function fmt(e: { host: string; port: number }): string {
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}
