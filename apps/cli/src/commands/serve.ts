import { node as p2p, rest } from "p2pd";
import { type Command, EXIT, intFlag, str, usageError } from "../command.js";
import { secret, secretFileOption } from "../secret.js";
import { NODE_OPTIONS, nodeOptions } from "./node.js";

const { port: _nodePort, ...NODE_FLAGS } = NODE_OPTIONS;

export const command: Command = {
  name: "serve",
  summary: "run a node with the REST API and dashboard on loopback",
  usage: "[--port 12333] [--host 127.0.0.1] [--token T] [--node-port N] [node flags] [--json]",
  options: {
    port: { type: "string", arg: "N", help: "REST API port (default 12333; 0 = any free port)" },
    host: { type: "string", arg: "IP", help: "loopback address to serve on (default 127.0.0.1)" },
    token: {
      type: "string",
      arg: "T",
      help: "require Authorization: Bearer T on every API call (prefer --token-file or env P2PD_TOKEN)",
    },
    ...secretFileOption("token", "API token"),
    "node-port": {
      type: "string",
      arg: "N",
      help: "P2P node listen port (default: any free port)",
    },
    ...NODE_FLAGS,
  },
  async run(ctx) {
    const port = intFlag(ctx, "port", 0, 65535) ?? 12333;
    const host = str(ctx, "host") ?? "127.0.0.1";
    // Checked before the node starts: the API can open connections, so loopback only.
    if (!rest.isLoopbackListen(host)) {
      throw usageError(
        `--host must be a loopback address (127.x.x.x, ::1, localhost), got "${host}"`,
      );
    }
    // The node's own flags, with --node-port standing for the node's --port.
    const nodeCtx = { ...ctx, values: { ...ctx.values, port: ctx.values["node-port"] } };
    // Secrets are usage: a bad --token/--token-file fails before anything starts.
    const token = await secret(ctx, "token");
    const t0 = performance.now();
    ctx.progress("starting the node…");
    const node = await p2p.startNode(await nodeOptions(nodeCtx));
    let server: rest.RestServer | undefined;
    try {
      ctx.progress("starting the REST API…");
      server = await rest.RestServer.start({
        node: node as unknown as rest.RestNode,
        port,
        host,
        ...(token ? { token } : {}),
        signal: ctx.signal,
      });
      const ready = {
        url: server.url,
        addr: node.address,
        nodeId: node.nodeId,
        readyMs: Math.round(performance.now() - t0),
      };
      // Like `p2pd node`: one JSON line when ready, then serve until interrupted.
      ctx.stdout.write(`${JSON.stringify(ready)}\n`);
      ctx.progress(`REST API and dashboard on ${server.url}/ ; Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) return resolve();
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      return EXIT.INTERRUPTED;
    } finally {
      await server?.close();
      await node.close();
    }
  },
};
