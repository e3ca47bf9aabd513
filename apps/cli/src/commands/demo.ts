import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { nat as natPkg, netifaces, node as p2p, stun } from "p2pd";
import { type Command, EXIT } from "../command.js";

/** IRC servers of the local IRC lab (labs/irc-lab writes lab.json), when it runs. */
function ircLab(): string[] {
  const file = join(process.env.IRC_LAB_DIR ?? "/tmp/ircdns-lab", "lab.json");
  if (!existsSync(file)) return [];
  try {
    const j = JSON.parse(readFileSync(file, "utf8")) as {
      networks?: { host?: string; port?: number }[];
    };
    return (j.networks ?? [])
      .filter((n) => typeof n.host === "string" && typeof n.port === "number")
      .map((n) => `${n.host}:${n.port}`);
  } catch {
    return [];
  }
}

function natNames(n: { type: number; delta: { type: number; value: number } } | undefined) {
  try {
    if (!n) return null;
    const { type, delta } = natPkg.natFromWire(n);
    return { type, delta };
  } catch {
    return null; // code 0: not tested yet
  }
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

      // 2. Node A starts and registers a name on the local IRC lab when it runs.
      const irc = ircLab();
      const a = await p2p.startNode({
        ...common,
        // A fixed seed keeps A the owner of its demo name across runs.
        seed: "p2pd-demo-node-a",
        ...(irc.length ? { irc } : {}),
      });
      cleanup.push(() => a.close());
      ctx.progress(`[${since()}] node A ${a.nodeId} ready on port ${a.port}`);
      let by: "name" | "address" = "address";
      let target = a.address;
      const name = "p2pd-demo.peer";
      if (irc.length === 0) {
        ctx.progress(`[${since()}] names: the IRC lab is not running; B connects by address`);
      } else {
        try {
          ctx.progress(`[${since()}] registering "${name}" on the IRC lab (${irc.join(", ")})`);
          const limit = netifaces.deadline(30_000, ctx.signal);
          await a.register(name, { signal: limit.signal }).finally(limit.clear);
          by = "name";
          target = name;
          ctx.progress(`[${since()}] node A registered "${name}"`);
        } catch (err) {
          ctx.progress(
            `[${since()}] names: registration failed (${(err as Error).message}); B connects by address`,
          );
        }
      }

      // 3. Node B connects and does one ECHO round trip.
      const b = await p2p.startNode({ ...common, ...(irc.length ? { irc } : {}) });
      cleanup.push(() => b.close());
      ctx.progress(`[${since()}] node B ${b.nodeId} ready; connecting to A by ${by}`);
      const r = await b.connect(target, { signal: ctx.signal, timeoutMs: 60_000 });
      ctx.progress(
        `[${since()}] connected with ${r.strategy} in ${r.timings.totalMs.toFixed(1)} ms`,
      );
      const e0 = performance.now();
      const reply = (await p2p.echo(r.pipe, "hello from B", { timeoutMs: 5000 })).toString();
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
        echo: reply === "hello from B",
        // The same names as `p2pd nat` (type, delta {kind, value}); null while unknown.
        natA: natNames(nat),
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
