// A node inside a natlab namespace (spawned by natlab.test.ts); imports the lab build of this package.
//   node peer.mjs serve   --mqtt URL [--stun H:P] [--turn turn:H:P --turn-user U --turn-pass P]
//                                                            -> prints {"addr":...} then serves ECHO
//   node peer.mjs connect --mqtt URL [--stun H:P] ADDR [--strategies a,b] [--family 4|6]
//                                                            -> prints {"strategy","ms","echo","peer"}
//   either: --insecure (plaintext node connections); connect: --send TEXT (also echoes TEXT: "sent")
import { parseArgs } from "node:util";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    mqtt: { type: "string" },
    stun: { type: "string" },
    strategies: { type: "string" },
    family: { type: "string" },
    lib: { type: "string" },
    turn: { type: "string" },
    "turn-user": { type: "string" },
    "turn-pass": { type: "string" },
    verbose: { type: "boolean" },
    upnp: { type: "boolean" },
    interfaces: { type: "string" },
    "nat-cache": { type: "string" },
    "nat-wait": { type: "string" },
    insecure: { type: "boolean" },
    send: { type: "string" },
  },
});
const lib = await import(values.lib);
const [mode, target] = positionals;
const t0 = performance.now();
const node = await lib.startNode({
  mqtt: values.mqtt,
  ...(values.interfaces ? { interfaces: values.interfaces } : {}),
  ...(values.stun ? { stun: [values.stun] } : {}),
  ...(values.turn
    ? {
        turn: [{ url: values.turn, username: values["turn-user"], password: values["turn-pass"] }],
        // A serving lab node relays for whoever connects (a node only relays for peers it signaled
        // unless it opts in like this).
        ...(mode === "serve" ? { turnForStrangers: true } : {}),
      }
    : {}),
  // Epoch ms first: both sides run on one machine, so their lines merge into one timeline.
  ...(values.verbose ? { log: (l) => process.stderr.write(`${Date.now()} ${l}\n`) } : {}),
  natWaitMs: values["nat-wait"] ? Number(values["nat-wait"]) : 3000,
  ...(values["nat-cache"] ? { natCache: values["nat-cache"] } : {}),
  ...(values.upnp ? { upnp: true } : {}),
  ...(values.insecure ? { insecure: true } : {}),
});
if (mode === "serve") {
  const readyMs = performance.now() - t0;
  process.stdout.write(
    `${JSON.stringify({ addr: node.address, nat: lib.parseAddress(node.address).ipv4[0]?.nat ?? null, readyMs })}\n`,
  );
  // Later addresses (port mapping, NAT test) come as further lines.
  node.on("address", (addr) =>
    process.stdout.write(
      `${JSON.stringify({ addr, nat: lib.parseAddress(addr).ipv4[0]?.nat ?? null })}\n`,
    ),
  );
  process.on("SIGTERM", () => node.close().then(() => process.exit(0)));
} else {
  let to = lib.parseAddress(target);
  if (values.family === "6") to = { ...to, ipv4: [] };
  if (values.family === "4") to = { ...to, ipv6: [] };
  if (values.verbose) process.stderr.write(`${Date.now()} connect start\n`);
  try {
    const r = await node.connect(to, {
      ...(values.strategies ? { strategies: values.strategies.split(",") } : {}),
      timeoutMs: 20_000,
    });
    // Binary-safe pipes: newlines, CR, NUL and 0xff must come back as sent.
    const probe = Buffer.from([...Buffer.from("lab echo"), 0x0a, 0x0d, 0x00, 0xff, 0x0a]);
    const reply = await lib.echo(r.pipe, probe, { timeoutMs: 5000 });
    // A known message there and back (capture tests search the wire for it).
    const text = values.send ? Buffer.from(values.send) : undefined;
    const sent = text
      ? (await lib.echo(r.pipe, text, { timeoutMs: 5000 })).equals(text)
      : undefined;
    process.stdout.write(
      `${JSON.stringify({ strategy: r.strategy, ms: r.timings.totalMs, echo: reply.equals(probe), sent, peer: r.pipe.remote ? { host: r.pipe.remote.host, port: r.pipe.remote.port } : undefined, strategies: r.timings.strategies })}\n`,
    );
  } catch (err) {
    process.stdout.write(
      `${JSON.stringify({ error: err.code ?? String(err), failures: err.failures })}\n`,
    );
  }
  await node.close();
}
