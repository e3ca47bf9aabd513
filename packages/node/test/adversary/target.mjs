// The node under attack, as its own process (its RSS is measured apart from the attacker's):
//   node target.mjs --lib DIST --mqtt URL [--handshake MS] [--insecure] [--verbose]  -> prints {"addr","port","pid"}
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    lib: { type: "string" },
    mqtt: { type: "string" },
    handshake: { type: "string" },
    insecure: { type: "boolean" },
    verbose: { type: "boolean" },
  },
});
const lib = await import(values.lib);
const node = await lib.startNode({
  interfaces: "loopback",
  mqtt: values.mqtt,
  natWaitMs: 0,
  ...(values.insecure ? { insecure: true } : {}),
  ...(values.verbose ? { log: (l) => process.stderr.write(`target: ${l}\n`) } : {}),
  ...(values.handshake ? { limits: { handshakeTimeoutMs: Number(values.handshake) } } : {}),
});
process.stdout.write(
  `${JSON.stringify({ addr: node.address, port: node.port, pid: process.pid })}\n`,
);
const stop = () => node.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
