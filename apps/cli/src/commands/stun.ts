import { isIP } from "node:net";
import { stun } from "p2pd";
import { CliError, type Command, EXIT, flag, intFlag, str, usageError } from "../command.js";

type Endpoint = { host: string; port: number };

// RFC 1123 labels: "a..b", "-a" or a 64-char label can never resolve, so they are usage errors (exit 2).
const LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;
function validHostname(h: string): boolean {
  const name = h.endsWith(".") ? h.slice(0, -1) : h;
  return name.length > 0 && name.length <= 253 && name.split(".").every((l) => LABEL.test(l));
}
const ipPort = (e: Endpoint | undefined) => (e ? { ip: e.host, port: e.port } : undefined);

export const command: Command = {
  name: "stun",
  summary: "ask a STUN server for this host's mapped (public) address",
  usage: "HOST[:PORT] [--tcp] [--family 4|6] [--json]",
  options: {
    tcp: { type: "boolean", help: "use TCP instead of UDP" },
    rfc4571: {
      type: "boolean",
      help: "with --tcp: frame messages with a 16-bit length (RFC 4571)",
    },
    family: { type: "string", arg: "4|6", help: "address family used to resolve HOST and bind" },
    local: { type: "string", arg: "ADDR", help: "local address to send from" },
    "local-port": { type: "string", arg: "PORT", help: "local port to send from (default: any)" },
    "change-ip": { type: "boolean", help: "RFC 5780 CHANGE-REQUEST: answer from the other IP" },
    "change-port": { type: "boolean", help: "RFC 5780 CHANGE-REQUEST: answer from the other port" },
    timeout: {
      type: "string",
      arg: "MS",
      help: "give up after this many milliseconds (default 10000)",
    },
  },
  async run(ctx) {
    const [server, ...extra] = ctx.positionals;
    if (server === undefined || extra.length > 0)
      throw usageError("expected exactly one HOST[:PORT]");
    const fam = str(ctx, "family");
    if (fam !== undefined && fam !== "4" && fam !== "6")
      throw usageError(`--family must be 4 or 6, got "${fam}"`);
    const family = fam === undefined ? undefined : (Number(fam) as 4 | 6);
    const timeoutMs = intFlag(ctx, "timeout", 1, 600_000) ?? 10_000;
    const localPort = intFlag(ctx, "local-port", 0, 65535);
    const tcp = flag(ctx, "tcp");
    if (flag(ctx, "rfc4571") && !tcp) throw usageError("--rfc4571 only applies with --tcp");
    const local = str(ctx, "local");
    if (local !== undefined && isIP(local.replace(/%.*$/, "")) === 0)
      throw usageError(`--local must be an IP address, got "${local}"`);
    let target: string;
    try {
      const hp = stun.parseHostPort(server, stun.DEFAULT_PORT);
      target = stun.formatEndpoint(hp);
      const literal = isIP(hp.host.replace(/%.*$/, ""));
      if (literal === 0 && !validHostname(hp.host)) throw usageError(`bad host name "${hp.host}"`);
      if (literal !== 0 && family !== undefined && literal !== family)
        throw usageError(`${hp.host} is an IPv${literal} address but --family is ${family}`);
    } catch (e) {
      throw usageError((e as Error).message);
    }
    // A timer we own: Node 20 can collect an AbortSignal.timeout() held only by AbortSignal.any().
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error("timeout")), timeoutMs);
    const signal = AbortSignal.any([ctx.signal, deadline.signal]);
    let r: Awaited<ReturnType<typeof stun.getMappedAddress>>;
    try {
      r = await stun.getMappedAddress(target, {
        protocol: tcp ? "tcp" : "udp",
        framing: flag(ctx, "rfc4571") ? "rfc4571" : "stun",
        family,
        localAddress: local,
        localPort,
        changeIp: flag(ctx, "change-ip"),
        changePort: flag(ctx, "change-port"),
        signal,
      });
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      const err = e as { code?: string; message?: string };
      if (err.code === "ERR_STUN_TIMEOUT" || signal.aborted) {
        throw new CliError(
          "ERR_STUN_TIMEOUT",
          `no answer from ${target} within ${timeoutMs} ms`,
          EXIT.FAILURE,
        );
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
    const out = {
      mapped: { ip: r.mapped.host, port: r.mapped.port },
      family: r.mapped.family,
      rtt: Math.round(r.rtt * 100) / 100,
      server: stun.formatEndpoint(r.server),
      protocol: r.protocol,
      local: ipPort(r.local),
      from: ipPort(r.from),
      responseOrigin: ipPort(r.responseOrigin),
      otherAddress: ipPort(r.otherAddress),
      software: r.software,
    };
    ctx.result(
      out,
      `${stun.formatEndpoint(r.mapped)}  (via ${out.server} over ${r.protocol}, rtt ${out.rtt} ms${
        r.otherAddress ? `, RFC 5780 other address ${stun.formatEndpoint(r.otherAddress)}` : ""
      })`,
    );
    return EXIT.OK;
  },
};
