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
    "alt-port": { type: "string", arg: "PORT", help: "alternate port for change-port requests" },
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
    const altPort = intFlag(ctx, "alt-port", 0, 65535);
    const protos = strs(ctx, "proto");
    for (const p of protos)
      if (p !== "udp" && p !== "tcp") throw usageError(`--proto must be udp or tcp, got "${p}"`);
    const software = str(ctx, "software");
    const server = new stun.StunServer({
      ips,
      port,
      altPort,
      protocols: protos.length ? (protos as ("udp" | "tcp")[]) : undefined,
      software: software === "" ? false : software,
    });
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
