import { setMaxListeners } from "node:events";
import { deadline } from "@p2pd/netifaces";
import { hostPort } from "../ip.js";
import { type CachedChoice, ServerCache } from "./cache.js";
import { assertMayContact } from "./guard.js";
import type { MqttServerEntry, ServerLists, StunServerEntry, TurnServerEntry } from "./list.js";
import { type MqttProbe, probeMqtt, type StunProbe, StunProber } from "./probe.js";

export interface ChooseServersOptions {
  /** The lists in effect (bundled, or from a config). */
  lists: ServerLists;
  family?: 4 | 6;
  /** Local address the STUN probes leave from (the NIC the node listens on). */
  localAddress?: string;
  /** Give up waiting after this long, ms (default 1500): dead servers never hold a start longer. */
  budgetMs?: number;
  /** Agreeing RFC 5780 servers wanted (default 2). */
  stunNeeded?: number;
  /** Brokers wanted (default 2). */
  mqttNeeded?: number;
  /** Probes launched per wave (default 8 STUN, 3 brokers) and time between waves (default 100 ms). */
  stunWave?: number;
  mqttWave?: number;
  waveMs?: number;
  /** STUN retransmission: `sends` datagrams `rtoMs` apart (default 2 x 300 ms). */
  rtoMs?: number;
  sends?: number;
  /** At most this many servers probed per start (default 96 STUN, 15 brokers): bounds the packets. */
  maxStunProbes?: number;
  maxMqttProbes?: number;
  /** Per-network cache: the servers that worked last time on this network are probed first. */
  cache?: ServerCache | string;
  /** Which network this is (required for the cache to be used). */
  networkKey?: string;
  /** Skip a kind (e.g. brokers given on the command line). */
  stun?: boolean;
  mqtt?: boolean;
  /** Order in which untried servers are probed (default: shuffled, to spread load over operators). */
  random?: () => number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface RejectedServer {
  server: string;
  why: string;
}

export interface ChosenServers {
  /** RFC 5780 servers that answered and agree on our IP, fastest first. */
  stun: StunServerEntry[];
  /** Brokers that accepted an MQTT connection, fastest first. */
  mqtt: MqttServerEntry[];
  /** TURN servers of the lists (not probed at start: TURN is the last resort of a connect). */
  turn: TurnServerEntry[];
  /** Our external IP as the agreeing STUN servers saw it. */
  mappedIp?: string;
  /** True when at least `stunNeeded` servers agree on our IP (never trust one server alone). */
  agreed: boolean;
  rejected: RejectedServer[];
  /** What the start sent: UDP datagrams and TCP connections opened. */
  packets: { udp: number; tcp: number };
  ms: number;
  /** True when the cached servers of this network were enough. */
  cached: boolean;
}

const stunKey = (s: StunServerEntry) => hostPort(s.ip, s.port);

function shuffled<T>(items: T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

/** Cached ones first (in cached order), then the rest shuffled. */
function ordered<T>(items: T[], key: (t: T) => string, first: string[], random: () => number) {
  const byKey = new Map(items.map((t) => [key(t), t]));
  const head = first.map((k) => byKey.get(k)).filter((t): t is T => t !== undefined);
  const rest = shuffled(
    items.filter((t) => !first.includes(key(t))),
    random,
  );
  return { head, rest };
}

/**
 * Launches probes in waves (`head` at once, then `wave` more every `waveMs`, the first of them after
 * `graceMs`) until `enough()` or nothing is left; resolves early when satisfied and aborts the
 * probes still out. Never waits for a dead server longer than its own timeout or the budget.
 */
function waves<T, R>(
  o: {
    head: T[];
    rest: T[];
    wave: number;
    waveMs: number;
    graceMs: number;
    max: number;
    signal: AbortSignal;
  },
  probe: (t: T, signal: AbortSignal) => Promise<R>,
  onResult: (r: R) => boolean,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const own = new AbortController();
    setMaxListeners(0, own.signal);
    const queue = [...o.head, ...o.rest].slice(0, o.max);
    let launched = 0;
    let settled = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal.removeEventListener("abort", finish);
      own.abort();
      resolve();
    };
    if (o.signal.aborted) return finish();
    o.signal.addEventListener("abort", finish, { once: true });
    const launch = (n: number) => {
      for (let i = 0; i < n && launched < queue.length; i++) {
        const t = queue[launched++] as T;
        probe(t, own.signal).then((r) => {
          settled++;
          if (done) return;
          if (onResult(r)) return finish();
          // Everything tried and answered (or failed): nothing left to wait for.
          if (settled === queue.length) finish();
          // A wave came back empty-handed: do not sit out the timer.
          else if (settled === launched) next();
        });
      }
    };
    const next = () => {
      clearTimeout(timer);
      if (done || launched >= queue.length) return;
      launch(o.wave);
      timer = setTimeout(next, o.waveMs);
    };
    if (queue.length === 0) return finish();
    if (o.head.length > 0) {
      launch(o.head.length);
      timer = setTimeout(next, o.graceMs);
    } else next();
  });
}

/**
 * Chooses the servers a node uses: probes STUN servers (one UDP socket) and MQTT brokers (a TCP
 * connection each) in parallel waves within a small budget, keeps the first that answer right, and
 * remembers them per network. A STUN server whose OTHER-ADDRESS differs from its listed alternate,
 * or whose view of our IP is outvoted, is rejected: none is trusted alone.
 */
export async function chooseServers(opts: ChooseServersOptions): Promise<ChosenServers> {
  const t0 = performance.now();
  if (opts.stun !== false) assertMayContact(opts.lists.stun);
  if (opts.mqtt !== false) assertMayContact(opts.lists.mqtt);
  const family = opts.family ?? 4;
  const random = opts.random ?? Math.random;
  const budgetMs = opts.budgetMs ?? 1500;
  const stunNeeded = opts.stunNeeded ?? 2;
  const mqttNeeded = opts.mqttNeeded ?? 2;
  const waveMs = opts.waveMs ?? 100;
  const graceMs = Math.max(waveMs, 200);
  const cache = typeof opts.cache === "string" ? new ServerCache({ dir: opts.cache }) : opts.cache;
  const cached: CachedChoice | undefined =
    cache && opts.networkKey
      ? await cache.get(opts.networkKey, { signal: opts.signal }).catch(() => undefined)
      : undefined;
  const limit = deadline(budgetMs, opts.signal);
  const budget = limit.signal;
  const rejected: RejectedServer[] = [];
  const answered: StunProbe[] = [];
  const brokers: MqttProbe[] = [];
  let tcp = 0;

  const usable = opts.lists.stun.filter(
    (s) => s.family === family && s.transport === "udp" && opts.stun !== false,
  );
  // Binding-only servers cannot type a NAT: probe the RFC 5780 ones (all, if none is listed so).
  const listed = usable.filter((s) => s.altIp !== null);
  const rfc5780 = listed.length > 0 ? listed : usable;
  const stunOrder = ordered(rfc5780, stunKey, cached?.stun ?? [], random);
  const mqttList = opts.lists.mqtt.filter((m) => !m.retired && opts.mqtt !== false);
  const mqttOrder = ordered(mqttList, (m) => m.url, cached?.mqtt ?? [], random);

  const best = () => {
    const groups = new Map<string, StunProbe[]>();
    for (const a of answered) {
      const ip = a.mapped?.ip as string;
      groups.set(ip, [...(groups.get(ip) ?? []), a]);
    }
    return [...groups.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  };

  const prober =
    stunOrder.head.length + stunOrder.rest.length > 0
      ? await StunProber.open({
          family,
          localAddress: opts.localAddress,
          signal: opts.signal,
        }).catch((err) => {
          // No socket of this family here (e.g. no IPv6): brokers can still be chosen.
          opts.signal?.throwIfAborted();
          opts.log?.(`servers: no IPv${family} socket for STUN: ${(err as Error).message}`);
          return undefined;
        })
      : undefined;
  try {
    const sends = opts.sends ?? 2;
    const rtoMs = opts.rtoMs ?? 300;
    await Promise.all([
      prober
        ? waves(
            {
              ...stunOrder,
              wave: opts.stunWave ?? 8,
              waveMs,
              graceMs,
              max: opts.maxStunProbes ?? 96,
              signal: budget,
            },
            (s, signal) => prober.probe(s, { rtoMs, sends, signal }),
            (r) => {
              if (!r.ok) return false;
              const s = r.server;
              if (s.altIp !== null) {
                if (!r.other) {
                  rejected.push({ server: stunKey(s), why: "no OTHER-ADDRESS: not RFC 5780" });
                  return false;
                }
                if (r.other.ip !== s.altIp || r.other.port !== s.altPort) {
                  rejected.push({
                    server: stunKey(s),
                    why: `wrong alternate ${hostPort(r.other.ip, r.other.port)} (listed ${hostPort(s.altIp, s.altPort ?? 0)})`,
                  });
                  return false;
                }
              } else if (!r.other) {
                rejected.push({ server: stunKey(s), why: "no OTHER-ADDRESS: not RFC 5780" });
                return false;
              }
              answered.push(r);
              return best().length >= stunNeeded;
            },
          )
        : Promise.resolve(),
      waves(
        {
          ...mqttOrder,
          wave: opts.mqttWave ?? 3,
          waveMs,
          graceMs,
          max: opts.maxMqttProbes ?? 15,
          signal: budget,
        },
        (m, signal) => {
          tcp++;
          return probeMqtt(m, { timeoutMs: budgetMs, signal });
        },
        (r) => {
          if (r.ok) brokers.push(r);
          return brokers.length >= mqttNeeded;
        },
      ),
    ]);
  } finally {
    limit.clear();
    prober?.close();
  }

  const group = best();
  const agreed = group.length >= stunNeeded;
  for (const a of answered)
    if (!group.includes(a))
      rejected.push({
        server: stunKey(a.server),
        why: `outvoted: says our IP is ${a.mapped?.ip}, ${group.length} servers say ${group[0]?.mapped?.ip}`,
      });
  const stun = group.map((a) => ({
    ...a.server,
    altIp: a.server.altIp ?? a.other?.ip ?? null,
    altPort: a.server.altPort ?? a.other?.port ?? null,
  }));
  const mqtt = brokers.map((b) => b.server);
  const usedCache =
    cached !== undefined &&
    stun.every((s) => cached.stun.includes(stunKey(s))) &&
    mqtt.every((m) => cached.mqtt.includes(m.url)) &&
    (stun.length > 0 || mqtt.length > 0);
  if (cache && opts.networkKey && (stun.length > 0 || mqtt.length > 0)) {
    await cache
      .set(opts.networkKey, { stun: stun.map(stunKey), mqtt: mqtt.map((m) => m.url) })
      .catch((err) => opts.log?.(`server cache not written: ${(err as Error).message}`));
  }
  const out: ChosenServers = {
    stun,
    mqtt,
    turn: opts.lists.turn.filter((t) => t.family === family),
    agreed,
    rejected,
    packets: { udp: prober?.sent ?? 0, tcp },
    ms: Math.round(performance.now() - t0),
    cached: usedCache,
  };
  if (agreed && group[0]?.mapped) out.mappedIp = group[0].mapped.ip;
  opts.log?.(
    `servers: ${stun.length} STUN (agreed ${agreed}), ${mqtt.length} brokers in ${out.ms} ms, ${out.packets.udp} datagrams + ${tcp} TCP connects${usedCache ? " (cached)" : ""}`,
  );
  return out;
}
