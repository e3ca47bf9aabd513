import { hostPort } from "../ip.js";
import { assertMayContact } from "./guard.js";
import type { MqttServerEntry, ServerLists, StunServerEntry, TurnServerEntry } from "./list.js";
import { probeMqtt, type StunProbe, StunProber } from "./probe.js";

export interface StunCheck {
  ip: string;
  port: number;
  family: 4 | 6;
  alive: boolean;
  rtt: number | null;
  /** OTHER-ADDRESS reported and the alternate ip:port answers too. */
  rfc5780: boolean;
  /** Agrees with the majority on our IP, and its OTHER-ADDRESS is the listed alternate. */
  right: boolean;
  why?: string;
}

export interface UrlCheck {
  url: string;
  alive: boolean;
  rtt: number | null;
  right: boolean;
  why?: string;
}

export interface ServerCheckReport {
  /** YYYY-MM-DD of the check (what `lastSeen` becomes for entries that passed). */
  date: string;
  stun: StunCheck[];
  mqtt: UrlCheck[];
  turn: UrlCheck[];
}

export interface CheckServersOptions {
  /** Per-request timeout, ms (default 2000). */
  timeoutMs?: number;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  signal?: AbortSignal;
  progress?: (line: string) => void;
}

async function pool<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/**
 * Checks every entry of the lists (a maintainer's tool, run before a release): STUN servers answer
 * on their primary and alternate addresses and agree on our IP, brokers accept an MQTT connection,
 * TURN servers answer STUN on their port. Nothing is retried; nothing here runs at node start.
 */
export async function checkServers(
  lists: ServerLists,
  opts: CheckServersOptions = {},
): Promise<ServerCheckReport> {
  assertMayContact([...lists.stun, ...lists.mqtt, ...lists.turn]);
  const timeoutMs = opts.timeoutMs ?? 2000;
  const n = opts.concurrency ?? 16;
  const probeOpts = { rtoMs: Math.ceil(timeoutMs / 2), sends: 1, signal: opts.signal };
  const probers = new Map<4 | 6, Promise<StunProber | undefined>>();
  // A host without IPv6 (or IPv4) reports those entries as unreachable instead of failing.
  const proberFor = (family: 4 | 6) => {
    let p = probers.get(family);
    if (!p) {
      p = StunProber.open({ family, signal: opts.signal }).catch(() => undefined);
      probers.set(family, p);
    }
    return p;
  };
  const noFamily = (server: StunServerEntry) =>
    ({ server, ok: false, code: "ERR_NO_FAMILY" }) as const;
  try {
    const stunRaw = await pool(lists.stun, n, async (s: StunServerEntry) => {
      const prober = await proberFor(s.family);
      const r: StunProbe = prober ? await prober.probe(s, probeOpts) : noFamily(s);
      let altOk = false;
      if (prober && r.ok && s.altIp !== null && s.altPort !== null)
        altOk = (await prober.probe({ ...s, ip: s.altIp, port: s.altPort }, probeOpts)).ok;
      opts.progress?.(`stun ${hostPort(s.ip, s.port)}: ${r.ok ? `${r.rtt} ms` : r.code}`);
      return { s, r, altOk };
    });
    // Our IP by majority (per family): one server cannot decide what is right.
    const votes = new Map<string, number>();
    for (const { r } of stunRaw)
      if (r.mapped) votes.set(r.mapped.ip, (votes.get(r.mapped.ip) ?? 0) + 1);
    const majority = new Map<4 | 6, string>();
    for (const [ip, count] of [...votes].sort((a, b) => b[1] - a[1])) {
      const fam = ip.includes(":") ? 6 : 4;
      if (!majority.has(fam) && count >= 2) majority.set(fam, ip);
    }
    const stun = stunRaw.map(({ s, r, altOk }): StunCheck => {
      const out: StunCheck = {
        ip: s.ip,
        port: s.port,
        family: s.family,
        alive: r.ok,
        rtt: r.rtt ?? null,
        rfc5780: r.ok && r.other !== undefined && altOk,
        right: false,
      };
      if (!r.ok) return { ...out, why: r.code ?? "no answer" };
      const wantIp = majority.get(s.family);
      if (wantIp === undefined) return { ...out, why: "no two servers agree on our IP" };
      if (r.mapped?.ip !== wantIp) return { ...out, why: `says our IP is ${r.mapped?.ip}` };
      if (s.altIp !== null && (r.other?.ip !== s.altIp || r.other?.port !== s.altPort))
        return {
          ...out,
          why: r.other
            ? `OTHER-ADDRESS ${hostPort(r.other.ip, r.other.port)} is not the listed alternate`
            : "no OTHER-ADDRESS",
        };
      if (s.altIp !== null && !altOk) return { ...out, why: "alternate address does not answer" };
      return { ...out, right: true };
    });
    const mqtt = await pool(lists.mqtt, n, async (m: MqttServerEntry): Promise<UrlCheck> => {
      const r = await probeMqtt(m, { timeoutMs, signal: opts.signal });
      opts.progress?.(`mqtt ${m.url}: ${r.ok ? `${r.rtt} ms` : r.code}`);
      return {
        url: m.url,
        alive: r.ok,
        rtt: r.rtt ?? null,
        right: r.ok,
        ...(r.ok ? {} : { why: r.code }),
      };
    });
    const turn = await pool(lists.turn, n, async (t: TurnServerEntry): Promise<UrlCheck> => {
      const prober = await proberFor(t.family);
      const entry: StunServerEntry = {
        ip: t.ip,
        port: t.port,
        altIp: null,
        altPort: null,
        family: t.family,
        transport: "udp",
      };
      const r: StunProbe = prober ? await prober.probe(entry, probeOpts) : noFamily(entry);
      opts.progress?.(`turn ${t.url}: ${r.ok ? `${r.rtt} ms` : r.code}`);
      return {
        url: t.url,
        alive: r.ok,
        rtt: r.rtt ?? null,
        right: r.ok,
        ...(r.ok ? {} : { why: r.code }),
      };
    });
    return { date: new Date().toISOString().slice(0, 10), stun, mqtt, turn };
  } finally {
    for (const p of probers.values()) (await p)?.close();
  }
}

/**
 * A server-list document with `lastSeen` set to the check's date for every entry that passed
 * (entries that failed keep their date; none is removed: broker indexes are part of addresses).
 */
export function refreshedList<T extends { stun: unknown[]; mqtt: unknown[]; turn: unknown[] }>(
  doc: T,
  report: ServerCheckReport,
): T {
  const out = structuredClone(doc);
  for (const kind of ["stun", "mqtt", "turn"] as const)
    out[kind].forEach((e, i) => {
      if (report[kind][i]?.right) (e as { lastSeen?: string }).lastSeen = report.date;
    });
  return out;
}
