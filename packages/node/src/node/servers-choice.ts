import { createHash } from "node:crypto";
import { networkInterfaces } from "node:os";
import { P2pdNodeError } from "../errors.js";
import { hostPort } from "../ip.js";
import { chooseServers } from "../servers/choose.js";
import type { StartNodeOptions } from "./types.js";

/**
 * Which network we are on, for the server cache: this host's non-loopback addresses and MACs.
 * Another network (or another DHCP lease) gives another key, so a stale choice is never reused
 * there; the cost of a wrong guess is only a cold start.
 */
export function networkKey(): string {
  const parts: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces()))
    for (const a of addrs ?? [])
      if (!a.internal && !a.address.startsWith("fe80")) parts.push(`${name}|${a.mac}|${a.address}`);
  return createHash("sha256").update(parts.sort().join("\n")).digest("hex").slice(0, 16);
}

/**
 * Options with the servers a start uses filled in from `opts.servers` (probed within the budget):
 * brokers unless `mqtt`/`transport` is given, STUN unless `stun` is, TURN unless `turn` is.
 * No broker answering is ERR_NO_BROKER (a node without signaling cannot be reached).
 */
export async function withChosenServers(opts: StartNodeOptions): Promise<StartNodeOptions> {
  const lists = opts.servers;
  if (!lists) return opts;
  // An empty list leaves that kind to its offline default (in-process broker, no STUN).
  const needMqtt =
    !opts.transport && (opts.mqtt === undefined || opts.mqtt.length === 0) && lists.mqtt.length > 0;
  const needStun = opts.stun === undefined && lists.stun.length > 0;
  const out: StartNodeOptions = { ...opts };
  if (opts.turn === undefined && lists.turn.length > 0)
    out.turn = lists.turn.map((t) => ({
      url: t.url,
      ...(t.user !== null ? { username: t.user } : {}),
      ...(t.pass !== null ? { password: t.pass } : {}),
      ...(t.realm ? { realm: t.realm } : {}),
    }));
  if (!needMqtt && !needStun) return out;
  const chosen = await chooseServers({
    lists,
    mqtt: needMqtt,
    stun: needStun,
    budgetMs: opts.serverBudgetMs ?? 1500,
    ...(opts.serverCache ? { cache: opts.serverCache, networkKey: networkKey() } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  if (needMqtt) {
    if (chosen.mqtt.length === 0)
      throw new P2pdNodeError(
        "ERR_NO_BROKER",
        `none of ${lists.mqtt.length} listed MQTT brokers answered in ${chosen.ms} ms`,
      );
    out.mqtt = chosen.mqtt.map((m) => m.url);
  }
  if (needStun && chosen.stun.length > 0) out.stun = chosen.stun.map((s) => hostPort(s.ip, s.port));
  return out;
}
