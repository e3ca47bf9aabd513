import { readFile, rename, writeFile } from "node:fs/promises";
import { node as p2p } from "p2pd";
import { CliError, type Command, EXIT, intFlag, str, usageError } from "../command.js";
import { effectiveLists } from "../config.js";

/**
 * `p2pd servers`: the server lists in effect. JSON contract (issue 14):
 * `{"stun":[{ip,port,altIp,altPort,family,transport}], "mqtt":[{url,ip,port,family}],
 *   "turn":[{url,ip,port,user,pass}]}` (altIp/altPort, user/pass null when none).
 * `p2pd servers check`: a maintainer's tool that contacts every listed server.
 */
function contractShape(l: p2p.ServerLists) {
  return {
    stun: l.stun.map((s) => ({
      ip: s.ip,
      port: s.port,
      altIp: s.altIp,
      altPort: s.altPort,
      family: s.family,
      transport: s.transport,
    })),
    mqtt: l.mqtt.map((m) => ({ url: m.url, ip: m.ip, port: m.port, family: m.family })),
    turn: l.turn.map((t) => ({ url: t.url, ip: t.ip, port: t.port, user: t.user, pass: t.pass })),
  };
}

function human(l: p2p.ServerLists): string {
  const hp = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);
  return [
    `STUN (${l.stun.length}, ${l.stun.filter((s) => s.altIp).length} RFC 5780):`,
    ...l.stun.map(
      (s) =>
        `  ${hp(s.ip, s.port).padEnd(44)} ${s.altIp ? `alt ${hp(s.altIp, s.altPort ?? 0)}` : "-"}`,
    ),
    `MQTT (${l.mqtt.length}):`,
    ...l.mqtt.map((m) => `  ${m.url}`),
    `TURN (${l.turn.length}):`,
    ...l.turn.map((t) => `  ${t.url}${t.user ? ` user ${t.user}` : ""}`),
  ].join("\n");
}

async function check(ctx: Parameters<Command["run"]>[0], timeoutMs: number): Promise<number> {
  const update = str(ctx, "update");
  let lists: p2p.ServerLists;
  let doc: unknown;
  if (update) {
    // Refresh a server-list file (the package's servers.json) in place: lastSeen of passing entries.
    try {
      doc = JSON.parse(await readFile(update, "utf8"));
      lists = p2p.validateServerLists(doc, update);
    } catch (err) {
      const e = err as { code?: string; message: string };
      throw new CliError(
        e.code?.startsWith("ERR_") ? e.code : "ERR_BAD_CONFIG",
        e.code?.startsWith("ERR_") ? e.message : `${update}: ${e.message}`,
        EXIT.USAGE,
      );
    }
  } else lists = await effectiveLists(ctx.signal);
  ctx.progress(
    `servers check: ${lists.stun.length} STUN, ${lists.mqtt.length} MQTT, ${lists.turn.length} TURN (this contacts every one)`,
  );
  const report = await p2p.checkServers(lists, {
    timeoutMs,
    signal: ctx.signal,
    progress: (l) => ctx.progress(l),
  });
  if (update && doc) {
    const tmp = `${update}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(p2p.refreshedList(doc as never, report), null, 2)}\n`);
    await rename(tmp, update);
    ctx.progress(`servers check: updated lastSeen in ${update}`);
  }
  const count = (k: "stun" | "mqtt" | "turn") => report[k].filter((e) => e.right).length;
  ctx.result(
    report,
    `${report.date}: STUN ${count("stun")}/${report.stun.length} right, MQTT ${count("mqtt")}/${report.mqtt.length}, TURN ${count("turn")}/${report.turn.length}`,
  );
  return EXIT.OK;
}

export const command: Command = {
  name: "servers",
  summary: "print the STUN/MQTT/TURN servers in effect; `servers check` tests each of them",
  usage: "[check [--timeout MS] [--update FILE]] [--json]",
  options: {
    timeout: { type: "string", arg: "MS", help: "check: per-request timeout (default 2000)" },
    update: {
      type: "string",
      arg: "FILE",
      help: "check: check this server-list file and set lastSeen of passing entries",
    },
  },
  async run(ctx) {
    const [sub, ...extra] = ctx.positionals;
    if (extra.length > 0 || (sub !== undefined && sub !== "check"))
      throw usageError(`unexpected argument "${extra[0] ?? sub}"`);
    const timeoutMs = intFlag(ctx, "timeout", 100, 60_000) ?? 2000;
    if (sub === "check") return check(ctx, timeoutMs);
    if (str(ctx, "update") !== undefined || str(ctx, "timeout") !== undefined)
      throw usageError("--timeout and --update go with `servers check`");
    const lists = await effectiveLists(ctx.signal);
    ctx.result(contractShape(lists), human(lists));
    return EXIT.OK;
  },
};
