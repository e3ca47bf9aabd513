// `runDoctor`: what this machine's network allows, in a few seconds. Two phases, each fully parallel:
// 1. reachability and latency (STUN over UDP and TCP, brokers, the gateway's port mapping);
// 2. with the measured RTTs: NAT type and delta, hairpinning, per interface and family.
import { setMaxListeners } from "node:events";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { type DeltaKind, detectNat } from "@p2pd/nat";
import {
  brokerPing,
  hairpinProbe,
  type PortMapProbe,
  portMapProbe,
  type StunPing,
  stunPing,
} from "./probes.js";
import { type NtpProbe, ntpProbe } from "./sntp.js";
import { type DoctorVerdict, doctorVerdict } from "./verdict.js";

export interface DoctorOptions {
  /** STUN servers ("host:port"); RFC 5780 ones are needed for the NAT type. */
  stun: readonly string[];
  /** Signaling brokers (mqtt://host:port) whose latency is measured. */
  mqtt?: readonly string[];
  /** NTP servers ("host[:port]", port 123 by default) the clock offset is measured against (SNTP). */
  ntp?: readonly string[];
  /** Interface names to test (default: every non-loopback interface with an address). */
  interfaces?: readonly string[];
  /** Families to test (default [4, 6]). */
  families?: readonly (4 | 6)[];
  /** Ask the gateway for a port mapping (default true). */
  portMapping?: boolean;
  /** Gateway for NAT-PMP / PCP / unicast SSDP (default: the default route). */
  gateway?: string;
  /** Overall cap in ms (default 6000). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Progress lines (a CLI's stderr); silent by default. */
  progress?: (line: string) => void;
}

export interface DoctorServer extends Record<"udp" | "tcp", StunPing> {
  server: string;
}

export interface DoctorInterface {
  name: string;
  family: 4 | 6;
  /** The local address tested. */
  local: string;
  /** UDP / TCP reached at least one STUN server. */
  udp: boolean;
  tcp: boolean;
  servers: DoctorServer[];
  /** Our public address (first STUN answer, UDP before TCP); null when none answered. */
  external: { ip: string; port: number } | null;
  /** NAT type and delta (`type: "unknown"` with a reason when it could not be classified). */
  nat: { type: string; delta: { kind: DeltaKind; value: number }; reason?: string } | null;
  /** Every server saw the same mapping from one socket (endpoint-independent); null: not measured. */
  mappingStable: boolean | null;
  /** Every server saw the same external IP. */
  externalIpStable: boolean | null;
  /** The NAT loops packets to our own public address back to us; null: not measured. */
  hairpin: boolean | null;
}

export interface DoctorReport {
  interfaces: DoctorInterface[];
  brokers: { url: string; ok: boolean; rttMs: number | null; error?: string }[];
  portMapping: PortMapProbe | null;
  /** IPv6: a global address, and whether peers can reach it unasked ("open") or must punch. */
  ipv6: { global: boolean; address?: string; reachability: "open" | "firewalled" | "none" };
  /**
   * Clock offset against the NTP servers given (SNTP): the reference's clock minus ours, from the
   * answer with the smallest round trip; not measured (with the reason) when none was given or
   * none answered.
   */
  clock: DoctorClock;
  verdict: DoctorVerdict;
  /** Budgets derived from the RTTs (ms). */
  budget: { rttMs: number | null; probeMs: number };
  ms: number;
}

export interface DoctorClock {
  measured: boolean;
  /** The server's clock minus ours in ms (positive: this machine is behind). */
  offsetMs?: number;
  /** Round trip of that answer: the offset is known to within half of it. */
  rttMs?: number;
  /** The server the offset is from. */
  server?: string;
  /** Every server asked. */
  servers: NtpProbe[];
  /** Why it was not measured. */
  reason?: string;
}

/** The clock result from the NTP probes (the lowest round trip wins). */
function clockOf(probes: NtpProbe[]): DoctorClock {
  const ok = probes.filter((p) => p.ok).sort((a, b) => (a.rttMs ?? 0) - (b.rttMs ?? 0));
  const best = ok[0];
  if (best?.offsetMs != null && best.rttMs != null)
    return {
      measured: true,
      offsetMs: best.offsetMs,
      rttMs: best.rttMs,
      server: best.server,
      servers: probes,
    };
  return {
    measured: false,
    servers: probes,
    reason:
      probes.length === 0
        ? "not measured: no NTP server given (peers agree on time over signaling when punching)"
        : `not measured: no NTP server answered (${probes.map((p) => `${p.server}: ${p.error}`).join(", ")})`,
  };
}

interface Target {
  name: string;
  family: 4 | 6;
  local: string;
}

/** The family of a server's literal address (0: a name, usable in both families). */
function literalFamily(server: string): number {
  const m = /^\[([^\]]+)\]/.exec(server);
  if (m) return isIP(m[1] ?? "");
  return isIP(server.replace(/:\d+$/, "")) || isIP(server);
}

const GLOBAL6 = (a: string) => !/^(fe80|fc|fd|::1$|::$|ff)/i.test(a);

/** Interfaces and addresses to test (IPv4: any non-internal; IPv6: global unicast only). */
function targets(names: readonly string[] | undefined, families: readonly (4 | 6)[]): Target[] {
  const out: Target[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (names?.length ? !names.includes(name) : false) continue;
    for (const fam of families) {
      const a = (addrs ?? []).find(
        (x) =>
          (!x.internal || Boolean(names?.length)) &&
          (fam === 4 ? x.family === "IPv4" : x.family === "IPv6" && GLOBAL6(x.address)),
      );
      if (a) out.push({ name, family: fam, local: a.address });
    }
  }
  return out;
}

/** Runs every probe and derives the verdict. Never hangs: everything stops at `timeoutMs`. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const t0 = performance.now();
  const say = options.progress ?? (() => {});
  const total = options.timeoutMs ?? 6000;
  // Plain controllers and timers (held strongly, cleared at the end): an AbortSignal.timeout()
  // inside AbortSignal.any() can be garbage-collected and then never fire.
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const deadline = (parents: AbortSignal[], ms: number): AbortSignal => {
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    const stop = () => ac.abort();
    for (const p of parents) {
      if (p.aborted) stop();
      else p.addEventListener("abort", stop, { once: true });
    }
    const t = setTimeout(stop, Math.ceil(Math.max(1, ms)));
    timers.add(t);
    ac.signal.addEventListener("abort", () => {
      clearTimeout(t);
      timers.delete(t);
      for (const p of parents) p.removeEventListener("abort", stop);
    });
    return ac.signal;
  };
  const overall = deadline(options.signal ? [options.signal] : [], total);
  const left = () => Math.max(0, total - (performance.now() - t0));
  const sub = (msCap: number) => deadline([overall], Math.min(msCap, left()));
  try {
    return await doctorRun(options, { t0, say, total, overall, left, sub });
  } finally {
    for (const t of timers) clearTimeout(t);
    timers.clear();
  }
}

interface RunCtx {
  t0: number;
  say: (line: string) => void;
  total: number;
  overall: AbortSignal;
  left: () => number;
  sub: (msCap: number) => AbortSignal;
}

async function doctorRun(options: DoctorOptions, c: RunCtx): Promise<DoctorReport> {
  const { t0, say, total, overall, left, sub } = c;
  const families = options.families ?? [4, 6];
  const tgts = targets(options.interfaces, families);
  say(
    `testing ${tgts.map((t) => `${t.name}/IPv${t.family}`).join(", ") || "no interface"} against ${options.stun.length} STUN server(s)`,
  );

  // Phase 1: reachability and latency, all in parallel; the gateway test runs alongside.
  const firstMs = Math.round(Math.min(1500, total / 3));
  const phase1 = sub(firstMs);
  const pings = Promise.all(
    tgts.map((t) =>
      Promise.all(
        options.stun
          .filter((server) => [0, t.family].includes(literalFamily(server)))
          .map(async (server) => {
            const [udp, tcp] = await Promise.all([
              stunPing(server, "udp", t.family, t.local, phase1),
              stunPing(server, "tcp", t.family, t.local, phase1),
            ]);
            say(
              `${t.name}/IPv${t.family} ${server}: udp ${udp.ok ? `${udp.rttMs} ms` : "no answer"}, tcp ${tcp.ok ? `${tcp.rttMs} ms` : "no answer"}`,
            );
            return { server, udp, tcp } as DoctorServer;
          }),
      ),
    ),
  );
  const brokers = Promise.all(
    (options.mqtt ?? []).map(async (url) => {
      const r = await brokerPing(url, phase1);
      say(`broker ${url}: ${r.ok ? `${r.rttMs} ms` : (r.error ?? "no answer")}`);
      return r;
    }),
  );
  const clock = Promise.all(
    (options.ntp ?? []).map(async (server) => {
      const r = await ntpProbe(server, phase1);
      say(
        `ntp ${server}: ${r.ok ? `offset ${r.offsetMs} ms (round trip ${r.rttMs} ms)` : (r.error ?? "no answer")}`,
      );
      return r;
    }),
  ).then(clockOf);
  const servers = await pings;
  const rtts = servers
    .flat()
    .flatMap((s) => [s.udp.rttMs, s.tcp.rttMs])
    .filter((x): x is number => x !== null);
  const rttMs = rtts.length ? Math.max(...rtts) : null;
  // Later probes wait for "nothing came back" about 8 RTTs, never under 250 ms or over what is left.
  const probeMs = Math.round(Math.min(left(), Math.max(1000, 8 * (rttMs ?? 250) + 750)));
  const firstExternal4 = servers
    .flatMap((ss, i) => (tgts[i]?.family === 4 ? ss : []))
    .find((s) => s.udp.ok || s.tcp.ok);
  const external4 = firstExternal4?.udp.mapped?.ip ?? firstExternal4?.tcp.mapped?.ip;
  const portMapping =
    options.portMapping === false || !families.includes(4)
      ? Promise.resolve(null)
      : portMapProbe(Math.min(probeMs, 2000), external4, options.gateway, sub(probeMs)).then(
          (r) => {
            say(
              `port mapping: ${r.available ? `${r.method} ${r.external?.ip}:${r.external?.port}${r.removed ? " (removed again)" : ""}` : `not available (${r.reason})`}`,
            );
            return r;
          },
        );

  // Phase 2: per interface and family, NAT type + delta and hairpinning, in parallel.
  const ifaces = await Promise.all(
    tgts.map(async (t, i): Promise<DoctorInterface> => {
      const ss = servers[i] ?? [];
      const udp = ss.some((s) => s.udp.ok);
      const tcp = ss.some((s) => s.tcp.ok);
      const first = ss.find((s) => s.udp.ok) ?? ss.find((s) => s.tcp.ok);
      const external = first ? (first.udp.mapped ?? first.tcp.mapped) : null;
      const ips = new Set(
        ss.flatMap((s) => [s.udp.mapped?.ip, s.tcp.mapped?.ip]).filter((x) => x !== undefined),
      );
      const answering = ss.filter((s) => s.udp.ok).map((s) => s.server);
      const signal = sub(probeMs);
      const [nat, hairpin] = await Promise.all([
        udp
          ? detectNat({
              servers: answering,
              family: t.family,
              localAddress: t.local,
              timeoutMs: Math.max(100, Math.min(probeMs, left() - 100)),
              signal: overall,
            }).catch((e) => ({
              type: "unknown" as const,
              delta: { kind: "not-applicable" as const, value: 0 },
              reason: `not classified: ${(e as Error).message}`,
            }))
          : undefined,
        udp && answering[0]
          ? hairpinProbe(answering[0], t.family, t.local, Math.max(250, 4 * (rttMs ?? 50)), signal)
          : null,
      ]);
      const out: DoctorInterface = {
        name: t.name,
        family: t.family,
        local: t.local,
        udp,
        tcp,
        servers: ss,
        external,
        nat: nat
          ? {
              type: nat.type,
              delta: { kind: nat.delta.kind, value: nat.delta.value },
              ...(nat.reason ? { reason: nat.reason } : {}),
            }
          : udp
            ? null
            : {
                type: "blocked",
                delta: { kind: "not-applicable", value: 0 },
                reason: "no UDP answer",
              },
        mappingStable:
          nat && nat.type !== "unknown" && nat.type !== "blocked" ? nat.type !== "symmetric" : null,
        externalIpStable: ips.size ? ips.size === 1 : null,
        hairpin: hairpin ?? null,
      };
      say(
        `${t.name}/IPv${t.family}: external ${external ? `${external.ip}:${external.port}` : "-"}, NAT ${out.nat?.type ?? "?"}${out.nat ? ` (delta ${out.nat.delta.kind})` : ""}, hairpin ${hairpin ?? "not measured"}`,
      );
      return out;
    }),
  );
  const [brokerResults, pm, clockResult] = await Promise.all([brokers, portMapping, clock]);
  if (options.signal?.aborted) throw options.signal.reason;

  const v4 =
    ifaces.find((x) => x.family === 4 && (x.udp || x.tcp)) ?? ifaces.find((x) => x.family === 4);
  const v6 = ifaces.find((x) => x.family === 6 && x.udp) ?? ifaces.find((x) => x.family === 6);
  const v6Reach: "open" | "firewalled" | "none" = !v6?.udp
    ? "none"
    : v6.nat?.type === "open-internet"
      ? "open"
      : "firewalled";
  const verdict = doctorVerdict({
    udp: v4?.udp ?? false,
    tcp: (v4?.tcp ?? false) || brokerResults.some((b) => b.ok),
    ...(v4?.nat ? { natType: v4.nat.type, deltaKind: v4.nat.delta.kind } : {}),
    portMapping: Boolean(pm?.available && pm.reachable),
    ipv6: v6Reach,
  });
  return {
    interfaces: ifaces,
    brokers: brokerResults,
    portMapping: pm,
    ipv6: { global: Boolean(v6), ...(v6 ? { address: v6.local } : {}), reachability: v6Reach },
    clock: clockResult,
    verdict,
    budget: { rttMs, probeMs },
    ms: Math.round(performance.now() - t0),
  };
}
