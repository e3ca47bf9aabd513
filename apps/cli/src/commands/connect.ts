import { node as p2p } from "p2pd";
import { CliError, type Command, EXIT, flag, intFlag, str, strs, usageError } from "../command.js";
import { formatTimeline } from "../timeline.js";
import { NODE_OPTIONS, nodeOptions } from "./node.js";

/** The built-in strategies, in the planner's order (one list: @p2pd/node's STRATEGY_NAMES). */
const KNOWN: readonly string[] = p2p.STRATEGY_NAMES;

export const command: Command = {
  name: "connect",
  summary: "connect to a node by address or name and do an ECHO round trip",
  usage: `ADDR|NAME [--strategies ${KNOWN.join(",")}] [--stagger MS|off] [node flags] [--json]`,
  options: {
    ...NODE_OPTIONS,
    strategies: { type: "string", arg: "LIST", help: `strategies in order (${KNOWN.join(",")})` },
    timeout: { type: "string", arg: "MS", help: "give up after this many ms (default 60000)" },
    stagger: {
      type: "string",
      arg: "MS|off",
      help: "racing: start the next strategy after MS without success (default: per strategy); off = one by one",
    },
    message: { type: "string", arg: "TEXT", help: "ECHO payload (default: a random token)" },
  },
  async run(ctx) {
    const [target, ...extra] = ctx.positionals;
    if (!target || extra.length) throw usageError("give exactly one ADDR or NAME");
    // Bad input is a usage error (exit 2), found before any node starts.
    // The address/name rule: only an address's structure is an address ("my-cool-node-x.peer" is a name).
    if (p2p.isAddressForm(target)) {
      try {
        p2p.parseAddress(target);
      } catch (err) {
        if (/^[a-z0-9_-]+\.[a-z0-9_-]+$/i.test(target)) {
          // A NAME.TLD with a dash, not an address.
        } else throw usageError(`not a P2P address: ${(err as Error).message}`);
      }
    } else if (!/^[a-z0-9_-]+\.[a-z0-9_-]+$/i.test(target)) {
      throw usageError(`"${target}" is neither a P2P address nor a NAME.TLD`);
    }
    const isName = /^[a-z0-9_-]+\.[a-z0-9_-]+$/i.test(target);
    // Without --irc-servers a name is looked up on the default public networks, which a
    // loopback-only node cannot reach.
    if (isName && !str(ctx, "irc-servers") && str(ctx, "interfaces") === "loopback") {
      throw usageError(`connecting to the name "${target}" over loopback needs --irc-servers LIST`);
    }
    const list = str(ctx, "strategies")
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const s of list ?? [])
      if (!KNOWN.includes(s))
        throw usageError(`unknown strategy "${s}" (known: ${KNOWN.join(",")})`);
    const timeoutMs = intFlag(ctx, "timeout", 100, 600_000) ?? 60_000;
    const staggerMs =
      str(ctx, "stagger") === "off"
        ? Number.POSITIVE_INFINITY
        : intFlag(ctx, "stagger", 0, 600_000);
    if (
      strs(ctx, "mqtt").includes("embedded") ||
      (strs(ctx, "mqtt").length === 0 && str(ctx, "interfaces") === "loopback")
    )
      ctx.progress(
        "signaling uses an in-process broker, so only direct reaches a node in another process (pass the node's mqtt URL)",
      );
    // --verbose (a node flag: the node's debug log) also prints the attempt's timeline.
    const verbose = flag(ctx, "verbose");
    const t0 = performance.now();
    const node = await p2p.startNode(await nodeOptions(ctx));
    try {
      const readyMs = performance.now() - t0;
      ctx.progress(`local node ${node.nodeId} ready in ${Math.round(readyMs)} ms; connecting`);
      for (const s of list ?? [])
        if (!node.strategies.has(s))
          throw new CliError(
            "ERR_STRATEGY_UNAVAILABLE",
            `strategy "${s}" is not available in this build`,
          );
      let r: p2p.ConnectResult;
      try {
        r = await node.connect(target, {
          ...(list ? { strategies: list } : {}),
          ...(staggerMs === undefined ? {} : { staggerMs }),
          timeoutMs,
          signal: ctx.signal,
        });
      } catch (err) {
        if (err instanceof p2p.ConnectError) {
          for (const f of err.failures) ctx.progress(`  ${f.strategy}: ${f.code} ${f.message}`);
          if (verbose) for (const l of formatTimeline(err.timeline)) ctx.progress(l);
        }
        throw err;
      }
      ctx.progress(`connected with ${r.strategy} in ${Math.round(r.timings.totalMs)} ms`);
      if (r.plaintext)
        ctx.progress(
          "warning: a Python P2PD address: this connection is PLAINTEXT (P2PD does not encrypt); the round trip is P2PD's test message",
        );
      if (verbose) for (const l of formatTimeline(r.timeline)) ctx.progress(l);
      const token = str(ctx, "message") ?? `p2pd-${Math.random().toString(36).slice(2, 10)}`;
      const e0 = performance.now();
      // A P2PD node answers its own test message, not ECHO.
      const ok = r.plaintext
        ? (await p2p.p2pdTest(r.pipe, { timeoutMs: 5000, signal: ctx.signal })).includes(
            p2p.P2PD_TEST_REPLY,
          )
        : (await p2p.echo(r.pipe, token, { timeoutMs: 5000, signal: ctx.signal })).toString() ===
          token;
      const echoMs = performance.now() - e0;
      await r.pipe.close();
      if (!ok) throw new CliError("ERR_ECHO_MISMATCH", "the ECHO reply did not match");
      const round = (x: number) => Math.round(x * 100) / 100;
      ctx.result({
        strategy: r.strategy,
        ms: round(r.timings.totalMs),
        echo: true,
        echoMs: round(echoMs),
        readyMs: round(readyMs),
        ...(r.timings.lookupMs === undefined ? {} : { lookupMs: round(r.timings.lookupMs) }),
        strategies: r.timings.strategies.map((t) => ({ ...t, ms: round(t.ms) })),
        timeline: r.timeline,
        peer: r.pipe.remote ? { host: r.pipe.remote.host, port: r.pipe.remote.port } : null,
        ...(r.plaintext ? { plaintext: true } : {}),
      });
      return EXIT.OK;
    } finally {
      await node.close();
    }
  },
};
