import { isIP } from "node:net";
import { stun } from "p2pd";
import { type Command, EXIT, intFlag, str, strs, usageError } from "../command.js";

export const command: Command = {
  name: "stun-server",
  summary: "run an RFC 5780 STUN server (UDP and TCP) until interrupted",
  usage: "--ip A [--ip B] --port 3478 [--alt-port 3479] [--json]",
  options: {
    ip: {
      type: "string",
      multiple: true,
      arg: "IP",
      help: "address to serve on; give two for RFC 5780 change-IP",
    },
    port: { type: "string", arg: "PORT", help: "primary port (default 3478; 0 = any free port)" },
    "alt-port": {
      type: "string",
      arg: "PORT",
      help: "alternate port for change-port requests (default with two --ip: --port + 1, or 0 with --port 0)",
    },
    proto: {
      type: "string",
      multiple: true,
      arg: "udp|tcp",
      help: "protocols to serve (default both)",
    },
    software: {
      type: "string",
      arg: "TEXT",
      help: 'SOFTWARE attribute (default "p2pd-stun"; "" for none)',
    },
  },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError(`unexpected argument "${ctx.positionals[0]}"`);
    const ips = strs(ctx, "ip");
    if (ips.length < 1 || ips.length > 2) throw usageError("give one or two --ip addresses");
    for (const ip of ips)
      if (isIP(ip) === 0) throw usageError(`--ip must be an IP address, got "${ip}"`);
    const port = intFlag(ctx, "port", 0, 65535) ?? 3478;
    // Two IPs mean RFC 5780: without an alternate port the server could not answer CHANGE-REQUEST.
    const altPort =
      intFlag(ctx, "alt-port", 0, 65535) ??
      (ips.length === 2 ? (port === 0 ? 0 : port + 1) : undefined);
    if (altPort !== undefined && altPort > 65535)
      throw usageError("--port 65535 leaves no room for the default --alt-port; give --alt-port");
    if (altPort !== undefined && altPort !== 0 && altPort === port)
      throw usageError("--alt-port must differ from --port");
    const protos = strs(ctx, "proto");
    for (const p of protos)
      if (p !== "udp" && p !== "tcp") throw usageError(`--proto must be udp or tcp, got "${p}"`);
    const software = str(ctx, "software");
    let server: stun.StunServer;
    try {
      server = new stun.StunServer({
        ips,
        port,
        altPort,
        protocols: protos.length ? (protos as ("udp" | "tcp")[]) : undefined,
        software: software === "" ? false : software,
      });
    } catch (e) {
      // The options are all from the command line (mixed families, a too-long SOFTWARE): exit 2.
      if ((e as { code?: unknown }).code === "ERR_STUN_BAD_ARGUMENT")
        throw usageError((e as Error).message);
      throw e;
    }
    await server.listen({ signal: ctx.signal });
    try {
      const listening = server
        .endpoints()
        .map((e) => ({ protocol: e.protocol, ip: e.host, port: e.port }));
      const other = server.other;
      ctx.result(
        {
          listening,
          primary: { ip: server.primary.host, port: server.primary.port },
          other: other ? { ip: other.host, port: other.port } : null,
          rfc5780: other !== undefined,
        },
        listening
          .map(
            (l) => `listening ${l.protocol} ${stun.formatEndpoint({ host: l.ip, port: l.port })}`,
          )
          .join("\n"),
      );
      ctx.progress("STUN server running; Ctrl-C to stop");
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) return resolve();
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      await server.close();
    }
    const s = server.stats;
    ctx.progress(`stopped: ${s.received} received, ${s.answered} answered, ${s.dropped} dropped`);
    return EXIT.OK;
  },
};
