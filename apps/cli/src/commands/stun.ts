import { stun } from "p2pd";
import { CliError, type Command, EXIT, flag, intFlag, str, usageError } from "../command.js";

type Endpoint = { host: string; port: number };
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
    let target: string;
    try {
      const hp = stun.parseHostPort(server, stun.DEFAULT_PORT);
      target = stun.formatEndpoint(hp);
    } catch (e) {
      throw usageError((e as Error).message);
    }
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
    let r: Awaited<ReturnType<typeof stun.getMappedAddress>>;
    try {
      r = await stun.getMappedAddress(target, {
        protocol: tcp ? "tcp" : "udp",
        framing: flag(ctx, "rfc4571") ? "rfc4571" : "stun",
        family,
        localAddress: str(ctx, "local"),
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
