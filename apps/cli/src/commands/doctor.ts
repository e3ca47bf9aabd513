import { isIP } from "node:net";
import { nat, node as p2p } from "p2pd";
import { type Command, EXIT, flag, intFlag, str, strs, usageError } from "../command.js";

type Report = p2p.DoctorReport;

const ep = (e: { ip: string; port: number } | null | undefined) =>
  !e ? "-" : e.ip.includes(":") ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
const yesNo = (v: boolean | null) => (v === null ? "not measured" : v ? "yes" : "no");

function human(r: Report): string {
  const lines: string[] = [];
  for (const i of r.interfaces) {
    lines.push(`${i.name} IPv${i.family} (${i.local})`);
    lines.push(`  external:        ${ep(i.external)}`);
    lines.push(
      `  NAT:             ${i.nat ? `${i.nat.type}, delta ${i.nat.delta.kind}${i.nat.delta.value ? ` ${i.nat.delta.value}` : ""}${i.nat.reason ? ` (${i.nat.reason})` : ""}` : "not measured"}`,
    );
    lines.push(
      `  mapping stable:  ${yesNo(i.mappingStable)} (external IP stable: ${yesNo(i.externalIpStable)})`,
    );
    lines.push(`  UDP / TCP:       ${i.udp ? "ok" : "blocked"} / ${i.tcp ? "ok" : "blocked"}`);
    lines.push(`  hairpin:         ${yesNo(i.hairpin)}`);
    for (const s of i.servers)
      lines.push(
        `  stun ${s.server}: udp ${s.udp.ok ? `${s.udp.rttMs} ms` : "no answer"}, tcp ${s.tcp.ok ? `${s.tcp.rttMs} ms` : "no answer"}`,
      );
  }
  for (const b of r.brokers)
    lines.push(`broker ${b.url}: ${b.ok ? `${b.rttMs} ms` : `unreachable (${b.error})`}`);
  const pm = r.portMapping;
  lines.push(
    `port mapping:      ${!pm ? "not tested" : pm.available ? `${pm.method}, ${ep(pm.external)}${pm.reachable ? "" : " (not reachable: double NAT)"}${pm.removed ? ", removed again" : ""}` : `not available (${pm.reason})`}`,
  );
  lines.push(
    `IPv6:              ${r.ipv6.global ? `${r.ipv6.address}, ${r.ipv6.reachability}` : "no global address"}`,
  );
  const c = r.clock;
  lines.push(
    `clock offset:      ${c.measured ? `${(c.offsetMs ?? 0) > 0 ? "+" : ""}${c.offsetMs} ms against ${c.server} (±${Math.round(((c.rttMs ?? 0) / 2) * 100) / 100} ms; positive: this machine is behind)` : c.reason}`,
  );
  lines.push("", ...r.verdict.summary);
  if (!r.verdict.canWork) lines.push(`Cannot work: ${r.verdict.reason}`);
  return lines.join("\n");
}

/**
 * `p2pd doctor`: what this machine's network allows, per interface and family, and a verdict.
 * JSON: the `DoctorReport` of @p2pd/node (fields documented in apps/cli/README.md); exit 1 when
 * `verdict.canWork` is false.
 */
export const command: Command = {
  name: "doctor",
  summary: "check what this network allows: NAT, reachability, port mapping, and a verdict",
  usage:
    "[--stun HOST:PORT ...] [--mqtt URL ...] [--ntp HOST[:PORT] ...] [--family 4|6] [--timeout MS] [--json]",
  options: {
    stun: {
      type: "string",
      multiple: true,
      arg: "HOST:PORT",
      help: "STUN server (RFC 5780 ones give the NAT type); default: the public list (env P2PD_NAT_STUN)",
    },
    mqtt: {
      type: "string",
      multiple: true,
      arg: "URL",
      help: "signaling broker whose latency is measured, e.g. mqtt://HOST:1883",
    },
    ntp: {
      type: "string",
      multiple: true,
      arg: "HOST[:PORT]",
      help: "NTP server the clock offset is measured against (SNTP, port 123 by default); none by default",
    },
    interfaces: {
      type: "string",
      arg: "LIST",
      help: "comma-separated interface names (default all)",
    },
    family: { type: "string", arg: "4|6", help: "test one family only (default both)" },
    gateway: { type: "string", arg: "IP", help: "gateway for the port mapping test" },
    "no-portmap": { type: "boolean", help: "do not ask the gateway for a port mapping" },
    timeout: { type: "string", arg: "MS", help: "overall cap in milliseconds (default 6000)" },
  },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError(`unexpected argument "${ctx.positionals[0]}"`);
    let stun = strs(ctx, "stun")
      .flatMap((s) => s.split(","))
      .filter(Boolean);
    if (stun.length === 0) stun = (process.env.P2PD_NAT_STUN ?? "").split(",").filter(Boolean);
    if (stun.length === 0) {
      stun = [...nat.PUBLIC_RFC5780_SERVERS];
      ctx.progress("doctor: no --stun given; using the public defaults (pass --stun to choose)");
    }
    for (const s of stun)
      if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+)(:\d{1,5})?$/.test(s))
        throw usageError(`--stun must be HOST:PORT, got "${s}"`);
    const mqtt = strs(ctx, "mqtt");
    for (const u of mqtt)
      if (!/^mqtts?:\/\/[^/]+/.test(u))
        throw usageError(`--mqtt must be mqtt://HOST:PORT, got "${u}"`);
    const ntp = strs(ctx, "ntp")
      .flatMap((s) => s.split(","))
      .filter(Boolean);
    for (const s of ntp)
      if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+)(:\d{1,5})?$/.test(s))
        throw usageError(`--ntp must be HOST[:PORT], got "${s}"`);
    const fam = str(ctx, "family");
    if (fam !== undefined && fam !== "4" && fam !== "6")
      throw usageError(`--family must be 4 or 6, got "${fam}"`);
    const gateway = str(ctx, "gateway");
    if (gateway !== undefined && isIP(gateway) === 0)
      throw usageError(`--gateway must be an IP address, got "${gateway}"`);
    const timeoutMs = intFlag(ctx, "timeout", 500, 600_000) ?? 6000;
    const ifs = str(ctx, "interfaces");
    const report = await p2p.runDoctor({
      stun,
      mqtt,
      ntp,
      ...(ifs ? { interfaces: ifs.split(",").filter(Boolean) } : {}),
      ...(fam ? { families: [Number(fam) as 4 | 6] } : {}),
      ...(gateway ? { gateway } : {}),
      portMapping: !flag(ctx, "no-portmap"),
      timeoutMs,
      signal: ctx.signal,
      progress: (l) => ctx.progress(`doctor: ${l}`),
    });
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (!report.verdict.canWork) {
      // The report still goes out (it says why); the exit code says it cannot work.
      ctx.result(report, human(report));
      if (!ctx.json) ctx.progress(`doctor: ${report.verdict.reason}`);
      return EXIT.FAILURE;
    }
    ctx.result(report, human(report));
    return EXIT.OK;
  },
};
