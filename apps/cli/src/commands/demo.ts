import { existsSync } from "node:fs";
import { join } from "node:path";
import { node as p2p, stun } from "p2pd";
import { type Command, EXIT } from "../command.js";

/** Where the IRC lab (labs/irc-lab) writes its list of running networks. */
function ircLabRunning(): string | undefined {
  const file = join(process.env.IRC_LAB_DIR ?? "/tmp/ircdns-lab", "lab.json");
  return existsSync(file) ? file : undefined;
}

export const command: Command = {
  name: "demo",
  summary: "offline demo: two nodes connect on this machine and echo",
  usage: "[--json]",
  options: {
    verbose: { type: "boolean", help: "debug log on stderr" },
  },
  async run(ctx) {
    const t0 = performance.now();
    const since = () => `${Math.round(performance.now() - t0)} ms`;
    const log = ctx.values.verbose ? (l: string) => ctx.progress(`debug: ${l}`) : undefined;
    const cleanup: (() => Promise<void>)[] = [];
    try {
      // 1. Everything a node needs, in this process, on loopback.
      const stunServer = await new stun.StunServer({
        ips: ["127.0.0.1", "127.0.0.2"],
        port: 0,
        altPort: 0,
      }).listen({ signal: ctx.signal });
      cleanup.push(() => stunServer.close());
      const stunAt = `${stunServer.primary.host}:${stunServer.primary.port}`;
      ctx.progress(
        `[${since()}] STUN server (RFC 5780) on 127.0.0.1/127.0.0.2, port ${stunServer.primary.port}`,
      );
      const broker = await p2p.startBroker({ signal: ctx.signal });
      cleanup.push(() => broker.close());
      ctx.progress(`[${since()}] MQTT broker (aedes) on ${broker.url}`);
      const natTest = p2p.stunNatTest({
        stun: [stunAt],
        includeLoopback: true,
        ...(log ? { log } : {}),
      });
      const common = {
        interfaces: "loopback" as const,
        mqtt: broker.url,
        natTest,
        natWaitMs: 3000,
        signal: ctx.signal,
        ...(log ? { log } : {}),
      };

      // 2. Node A starts; a name needs IRC (the local IRC lab) and an IRCDNS client.
      const a = await p2p.startNode(common);
      cleanup.push(() => a.close());
      ctx.progress(`[${since()}] node A ${a.nodeId} ready on port ${a.port}`);
      const lab = ircLabRunning();
      let by: "name" | "address" = "address";
      let target = a.address;
      try {
        await a.register("p2pd-demo");
        by = "name";
        target = "p2pd-demo";
        ctx.progress(`[${since()}] node A registered the name "p2pd-demo"`);
      } catch (err) {
        ctx.progress(
          `[${since()}] names: ${lab ? `IRC lab found (${lab}) but ` : "IRC lab not running and "}${(err as Error).message}; B connects by address`,
        );
      }

      // 3. Node B connects and does one ECHO round trip.
      const b = await p2p.startNode(common);
      cleanup.push(() => b.close());
      ctx.progress(`[${since()}] node B ${b.nodeId} ready; connecting to A by ${by}`);
      const r = await b.connect(target, { signal: ctx.signal, timeoutMs: 20_000 });
      ctx.progress(
        `[${since()}] connected with ${r.strategy} in ${r.timings.totalMs.toFixed(1)} ms`,
      );
      const e0 = performance.now();
      const reply = (await r.pipe.echo("hello from B", { timeoutMs: 5000 })).toString();
      const echoMs = performance.now() - e0;
      ctx.progress(`[${since()}] ECHO reply: "${reply}" in ${echoMs.toFixed(1)} ms`);
      await r.pipe.close();
      const nat = p2p.parseAddress(a.address).ipv4[0]?.nat;
      const round = (x: number) => Math.round(x * 100) / 100;
      const out = {
        ok: reply === "hello from B",
        strategy: r.strategy,
        by,
        ms: round(r.timings.totalMs),
        echoMs: round(echoMs),
        totalMs: round(performance.now() - t0),
        strategies: r.timings.strategies.map((t) => ({ ...t, ms: round(t.ms) })),
        natA: nat ?? null,
        addrA: a.address,
      };
      ctx.result(
        out,
        `demo ${out.ok ? "OK" : "FAILED"}: ${out.strategy} connect in ${out.ms} ms, ECHO in ${out.echoMs} ms (total ${out.totalMs} ms)`,
      );
      return out.ok ? EXIT.OK : EXIT.FAILURE;
    } finally {
      for (const c of cleanup.reverse()) await c().catch(() => {});
    }
  },
};
