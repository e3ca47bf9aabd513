import { isIP } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { nat, node as p2p } from "p2pd";
import { CliError, type Command, EXIT, flag, intFlag, str, strs, usageError } from "../command.js";
import { effectiveLists } from "../config.js";

/** Where results are cached per network unless --no-cache: $XDG_CACHE_HOME/p2pd or ~/.cache/p2pd. */
function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "p2pd");
}

/**
 * `p2pd nat`: the NAT type (7 types) and port delta. JSON contract (other tools rely on it):
 * `{ type, delta: { kind, value }, mapped: [{ ip, port }], ms }`, plus `family`; extensions: `reason`
 * (with `type: "unknown"`), `ignored` (servers set aside and why), `cached: true`.
 */
export const command: Command = {
  name: "nat",
  summary: "detect the NAT type and port-allocation delta",
  usage: "[--stun HOST:PORT ...] [--family 4|6] [--timeout MS] [--no-cache] [--json]",
  options: {
    stun: {
      type: "string",
      multiple: true,
      arg: "HOST:PORT",
      help: "STUN server; RFC 5780 ones (OTHER-ADDRESS) are needed, two or more are cross-checked (env P2PD_NAT_STUN: comma list)",
    },
    family: { type: "string", arg: "4|6", help: "address family to test (default 4)" },
    timeout: { type: "string", arg: "MS", help: "overall cap in milliseconds (default 4000)" },
    local: { type: "string", arg: "ADDR", help: "local address to send from" },
    "no-cache": { type: "boolean", help: "neither read nor write the per-network result cache" },
    refresh: { type: "boolean", help: "re-test even if a cached result exists (and update it)" },
    "cache-dir": { type: "string", arg: "DIR", help: "cache directory (default ~/.cache/p2pd)" },
  },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError(`unexpected argument "${ctx.positionals[0]}"`);
    let servers = strs(ctx, "stun")
      .flatMap((s) => s.split(","))
      .filter(Boolean);
    if (servers.length === 0) {
      servers = (process.env.P2PD_NAT_STUN ?? "").split(",").filter(Boolean);
    }
    const fam = str(ctx, "family");
    if (fam !== undefined && fam !== "4" && fam !== "6") {
      throw usageError(`--family must be 4 or 6, got "${fam}"`);
    }
    const family = (fam === "6" ? 6 : 4) as 4 | 6;
    if (servers.length === 0) {
      // No servers given: the RFC 5780 servers of the lists in effect (bundled or the config
      // file's) that answer first and agree (a real user's first run just works).
      const lists = await effectiveLists(ctx.signal);
      const chosen = await p2p.chooseServers({
        lists,
        family,
        mqtt: false,
        signal: ctx.signal,
        log: (l) => ctx.progress(`nat: ${l}`),
      });
      servers = chosen.stun.map((s) =>
        family === 6 ? `[${s.ip}]:${s.port}` : `${s.ip}:${s.port}`,
      );
      if (servers.length === 0)
        throw new CliError(
          "ERR_NAT_NO_SERVERS",
          "no listed RFC 5780 STUN server answered (pass --stun)",
        );
      ctx.progress(
        "nat: no --stun given; using the listed servers that answered (pass --stun to choose)",
      );
    }
    const timeoutMs = intFlag(ctx, "timeout", 100, 600_000) ?? 4000;
    const local = str(ctx, "local");
    if (local !== undefined && isIP(local.replace(/%.*$/, "")) === 0)
      throw usageError(`--local must be an IP address, got "${local}"`);
    const noCache = flag(ctx, "no-cache");
    const cacheDir = str(ctx, "cache-dir") ?? defaultCacheDir();
    ctx.progress(`nat: testing IPv${family} against ${servers.join(", ")}`);
    let r: nat.NatResult;
    try {
      r = await nat.detectNat({
        servers,
        family,
        timeoutMs,
        localAddress: local,
        cache: noCache ? undefined : cacheDir,
        refresh: flag(ctx, "refresh"),
        signal: ctx.signal,
        progress: (line) => ctx.progress(`nat: ${line}`),
      });
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      const err = e as { code?: string; message: string };
      if (err.code === "ERR_NAT_BAD_ARGUMENT" || err.code === "ERR_NAT_NO_SERVERS") {
        throw usageError(err.message);
      }
      throw new CliError(err.code ?? "ERR_NAT", err.message);
    }
    const out: Record<string, unknown> = {
      type: r.type,
      delta: { kind: r.delta.kind, value: r.delta.value },
      mapped: r.mapped.map((m) => ({ ip: m.host, port: m.port })),
      ms: r.ms,
      family: r.family,
    };
    if (r.reason) out.reason = r.reason;
    if (r.ignored?.length) out.ignored = r.ignored;
    if (r.cached) out.cached = true;
    const delta = r.delta.value
      ? `${r.delta.kind} ${r.delta.value > 0 ? "+" : ""}${r.delta.value}`
      : r.delta.kind;
    const human = [
      `NAT type: ${r.type}${r.reason ? ` (${r.reason})` : ""}`,
      `delta:    ${delta}`,
      `mapped:   ${r.mapped.map((m) => (m.family === 6 ? `[${m.host}]:${m.port}` : `${m.host}:${m.port}`)).join(", ") || "-"}`,
      `time:     ${r.ms} ms${r.cached ? " (cached)" : ""}`,
      ...(r.ignored ?? []).map((i) => `ignored:  ${i.server}: ${i.why}`),
    ].join("\n");
    ctx.result(out, human);
    return r.type === "unknown" ? EXIT.FAILURE : EXIT.OK;
  },
};
