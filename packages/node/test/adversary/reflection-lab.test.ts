/**
 * Reflection, checked by capture in the NAT lab (issue 16): a stranger on another network sends
 * a node behind a NAT punch offers and reverse-connect requests that name someone else (a host on
 * the node's own LAN, a third party on the Internet, the node's loopback). Kernel counters in the
 * node's namespace (nftables, output hook: every packet the host sends, before any NAT) must show
 * zero packets to each victim; a control packet per victim proves the counters count.
 * Run under the lab lock: flock -o /tmp/p2pd-lab.lock pnpm exec vitest run test/adversary/reflection-lab.test.ts
 */
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labUnavailable, type NodeLab, startNodeLab } from "../lab/harness.js";

const why = labUnavailable();
const VICTIM_PORT = 40001;

/** Counters per victim IP in namespace `host` (table inet rflcap, output hook). */
async function counters(nl: NodeLab, host: string): Promise<Record<string, number>> {
  const r = await nl.lab.exec(host, "nft", ["-j", "list", "chain", "inet", "rflcap", "out"]);
  if (r.code !== 0) throw new Error(`nft list: ${r.stderr}`);
  const out: Record<string, number> = {};
  for (const item of JSON.parse(r.stdout).nftables as Record<string, unknown>[]) {
    const rule = item.rule as { expr?: Record<string, unknown>[] } | undefined;
    if (!rule?.expr) continue;
    let ip = "";
    let packets = 0;
    for (const e of rule.expr) {
      const m = e.match as { right?: unknown } | undefined;
      if (m && typeof m.right === "string") ip = m.right;
      const c = e.counter as { packets?: number } | undefined;
      if (c) packets = c.packets ?? 0;
    }
    out[ip] = packets;
  }
  return out;
}

describe.skipIf(why !== undefined)("adversary: reflection in the NAT lab (prefix rf-)", () => {
  let nl: NodeLab;

  beforeAll(async () => {
    nl = await startNodeLab({
      scenarios: ["a=full-cone,hosts=2", "b=full-cone", "c=full-cone"],
      prefix: "rf-",
      state: "/tmp/natlab-rf",
      outDir: "reflection",
    });
  }, 180_000);
  afterAll(async () => {
    await nl?.stop();
  }, 60_000);

  test("offers naming a LAN host, a third party or loopback: zero packets leave the node for them", async () => {
    const lab = nl.lab;
    const a2 = lab.host("a2").ip4;
    const third = lab.host("c1").publicIp4;
    const loop = "127.0.0.1";
    const victims = [a2, third, loop];
    const table = [
      ["add", "table", "inet", "rflcap"],
      [
        "add",
        "chain",
        "inet",
        "rflcap",
        "out",
        "{",
        "type",
        "filter",
        "hook",
        "output",
        "priority",
        "-300",
        ";",
        "}",
      ],
      // TCP and UDP only: a datagram to a closed loopback port draws an ICMP answer to 127.0.0.1.
      ...victims.map((ip) => [
        ...["add", "rule", "inet", "rflcap", "out", "ip", "daddr", ip],
        ...["meta", "l4proto", "{", "tcp", ",", "udp", "}", "counter"],
      ]),
    ];
    for (const args of table) {
      const r = await lab.exec("a1", "nft", args);
      expect(r.code, r.stderr).toBe(0);
    }
    const served = await nl.serve("a1");

    // Control: three datagrams from a1 to each victim show up in the counters.
    const control = `const d=require("node:dgram").createSocket("udp4");let n=0;const v=${JSON.stringify(victims)};const go=()=>{if(n===9)return d.close();d.send("c",${VICTIM_PORT},v[n%3],()=>{n++;go()})};go();`;
    expect((await lab.exec("a1", process.execPath, ["-e", control])).code).toBe(0);
    const before = await counters(nl, "a1");
    for (const ip of victims) expect(before[ip], ip).toBe(3);

    // The attack, from network b: throwaway keys, the attacker's own address (b's public IP)
    // with offers naming the victims, and addresses that claim the victims as the attacker's.
    const script = `
const lib = await import(${JSON.stringify(pathToFileURL(nl.lib).href)});
const { createRequire } = await import("node:module");
const { randomBytes } = await import("node:crypto");
const mqtt = createRequire(${JSON.stringify(nl.lib)})("mqtt");
const to = lib.parseAddress(${JSON.stringify(served.addr)});
const c = await mqtt.connectAsync(${JSON.stringify(lab.info.mqttUrl)}, { protocolVersion: 4 });
const victims = ${JSON.stringify(victims)};
const entry = to.ipv4[0];
let sent = 0;
for (const host of victims) {
  for (let i = 0; i < 10; i++) {
    const k = lib.deriveKeys(randomBytes(32));
    const me = { nodeId: k.nodeId, keys: { x25519: k.x25519.publicKey, ed25519: k.ed25519.publicKey } };
    const own = lib.formatAddress({ ...to, ...me, ipv6: [],
      ipv4: [{ ...entry, ext: ${JSON.stringify(lab.host("b1").publicIp4)}, internal: ${JSON.stringify(lab.host("b1").ip4)}, port: 5000 }] });
    const claimed = lib.formatAddress({ ...to, ...me, ipv6: [],
      ipv4: [{ ...entry, ext: host, internal: host, port: ${VICTIM_PORT} }] });
    const bodies = [
      { type: "UDP_OFFER", from: own, host, ports: [${VICTIM_PORT}], rttMs: 5, family: 4 },
      { type: "TCP_OFFER", from: own, host, ports: [${VICTIM_PORT}], rttMs: 5, family: 4 },
    ];
    // Claiming a public IP as one's own cannot be disproved: such offers are answered, within the
    // stranger probe budget (reflection.test.ts). Claiming a LAN or loopback IP must not work.
    if (host !== ${JSON.stringify(third)})
      bodies.push(
        { type: "CONNECT", from: claimed, proto: "tcp" },
        { type: "UDP_OFFER", from: claimed, host, ports: [${VICTIM_PORT}], rttMs: 5, family: 4 },
      );
    for (const b of bodies) {
      const msg = { ...b, pipeId: randomBytes(16).toString("hex") };
      await c.publishAsync(to.nodeId, lib.sealEnvelope(k, to.keys.x25519, Buffer.from(JSON.stringify(msg))), { qos: 1 });
      sent++;
    }
  }
}
await c.endAsync();
console.log(sent);`;
    const r = await lab.exec("b1", process.execPath, ["--input-type=module", "-e", script], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const offers = Number(r.stdout.trim());
    expect(offers).toBe(100);
    // Long enough for every punch to have started and ended (meeting instant + window).
    await new Promise((res) => setTimeout(res, 8000));
    const after = await counters(nl, "a1");
    const reached = Object.fromEntries(victims.map((ip) => [ip, (after[ip] ?? 0) - 3]));
    console.log(
      `reflection (lab): ${offers} offers from 30 throwaway keys on another network; packets the ` +
        `node sent to LAN host ${a2}: ${reached[a2]}, third party ${third}: ${reached[third]}, ` +
        `loopback: ${reached[loop]}`,
    );
    for (const ip of victims) expect(reached[ip], ip).toBe(0);
    // The node is still alive and serving: a legitimate peer on network b connects.
    const ok = await nl.connectFrom("b1", served.addr);
    expect(ok.echo, ok.error).toBe(true);
  }, 180_000);
});
