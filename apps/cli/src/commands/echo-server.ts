import { pipe } from "p2pd";
import { type Command, EXIT, str, strs, usageError } from "../command.js";

type Proto = "tcp" | "udp";
const FRAMINGS = ["chunk", "line", "u32-length", "u16-length"] as const;

/** `p2pd echo-server`: a Daemon that sends every message back to its sender until SIGINT. */
export const command: Command = {
  name: "echo-server",
  summary: "run a daemon that echoes every message",
  usage: "--port N [--proto tcp|udp] [--host H] [--json]",
  options: {
    port: { type: "string", arg: "N", help: 'port, range or list ("0" = ephemeral, "8000-8010")' },
    proto: {
      type: "string",
      multiple: true,
      arg: "tcp|udp",
      help: "protocol (default: tcp and udp)",
    },
    host: { type: "string", multiple: true, arg: "H", help: "address to bind (default 0.0.0.0)" },
    framing: {
      type: "string",
      arg: "chunk|line|u32-length|u16-length",
      help: "TCP message framing (default chunk: bytes are echoed as they arrive)",
    },
  },
  async run(ctx) {
    const portArg = str(ctx, "port");
    if (portArg === undefined) throw usageError("--port is required (0 for an ephemeral port)");
    let ports: number[];
    try {
      ports = pipe.parsePorts(portArg);
    } catch (e) {
      throw usageError((e as Error).message);
    }
    const protoArgs = strs(ctx, "proto");
    const protos: Proto[] = protoArgs.length === 0 ? ["tcp", "udp"] : [];
    for (const p of protoArgs) {
      if (p !== "tcp" && p !== "udp") throw usageError(`--proto must be tcp or udp, got "${p}"`);
      if (!protos.includes(p)) protos.push(p);
    }
    const framing = str(ctx, "framing") ?? "chunk";
    if (!(FRAMINGS as readonly string[]).includes(framing)) {
      throw usageError(`--framing must be one of ${FRAMINGS.join(", ")}`);
    }
    const hosts = strs(ctx, "host");
    const daemon = new pipe.Daemon({
      // Echo to the sender: on TCP msg.pipe is the client's pipe, on UDP the shared socket.
      onMessage: (msg) => msg.pipe.send(msg.data, msg.from),
      pipe: { framing: framing as (typeof FRAMINGS)[number] },
    });
    daemon.on("error", (e) => ctx.progress(`echo-server: ${e.message}`));
    await daemon.listenAll(hosts.length > 0 ? hosts : ["0.0.0.0"], ports, protos, {
      signal: ctx.signal,
    });
    try {
      const listening = daemon.servers.map((s) => ({
        proto: s.proto,
        host: s.local.scopeId ? `${s.local.host}%${s.local.scopeId}` : s.local.host,
        port: s.local.port,
      }));
      ctx.result(
        { listening },
        listening
          .map((l) => `echo-server listening on ${l.proto} ${l.host} port ${l.port}`)
          .join("\n"),
      );
      if (!ctx.signal.aborted) {
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
      }
      ctx.progress("echo-server: stopping");
    } finally {
      await daemon.close();
    }
    return EXIT.OK;
  },
};
