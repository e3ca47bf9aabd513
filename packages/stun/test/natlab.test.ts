// Real NATs: our client inside NATed namespaces (natlab) against coturn and our own server in `pub`.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Lab, labAvailable, startLab } from "../../../labs/natlab/lab.js";

const why = labAvailable();
if (why) console.warn(`skipping natlab STUN tests: ${why}`);
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

let lab: Lab;

/** Runs an ESM snippet with `stun` (our dist) in scope inside a lab node; returns its JSON output. */
async function inNode(node: string, body: string): Promise<Record<string, unknown>> {
  const script = `import * as stun from ${JSON.stringify(dist)};\nconst out = {};\n${body}\nconsole.log(JSON.stringify(out));`;
  const r = await lab.exec(node, process.execPath, ["--input-type=module", "-e", script], {
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`script failed in ${node}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
}

describe.skipIf(why !== undefined)("STUN through real NATs (natlab)", () => {
  beforeAll(async () => {
    lab = await startLab(["a=port-restricted", "b=symmetric"], {
      prefix: "st-",
      state: "/tmp/natlab-st",
    });
  }, 120_000);
  afterAll(async () => {
    await lab?.stop();
  }, 60_000);

  const servers = () => {
    const { pub, stun, p2pdStun } = lab.info;
    if (!p2pdStun) throw new Error("the lab runs no @p2pd/stun server");
    return {
      coturn: `${pub.ip4}:${stun.port}`,
      coturnAlt: `${pub.ip4Alt}:${stun.altPort}`,
      ours: `${pub.ip4}:${p2pdStun.port}`,
      oursAlt: `${pub.ip4Alt}:${p2pdStun.altPort}`,
    };
  };

  test("port-restricted NAT: coturn and our server agree on the router's public IP; same port (EIM)", async () => {
    const s = servers();
    const out = await inNode(
      "a1",
      `const r = await stun.getExternalAddress(${JSON.stringify([s.coturn, s.ours, s.oursAlt])}, { waitAll: true, timeoutMs: 8000 });
       out.ip = r.ip; out.agreed = r.agreed.map((a) => a.mapped); out.disagreed = r.disagreed.length; out.failed = r.failed.length;`,
    );
    const a1 = lab.host("a1");
    expect(out.ip).toBe(a1.publicIp4);
    expect(out.ip).not.toBe(a1.ip4);
    expect(out.disagreed).toBe(0);
    expect(out.failed).toBe(0);
    const ports = new Set((out.agreed as { port: number }[]).map((m) => m.port));
    expect(ports.size).toBe(1);
  });

  test("port-restricted NAT filters CHANGE-REQUEST answers (timeout), plain answers pass", async () => {
    const s = servers();
    const out = await inNode(
      "a1",
      `const c = await stun.StunClient.udp();
       const plain = await c.binding(${JSON.stringify(s.ours)}, { timeoutMs: 8000 });
       out.other = plain.otherAddress;
       out.change = await c.binding(${JSON.stringify(s.ours)}, { changeIp: true, changePort: true, timeoutMs: 1500 })
         .then(() => "answered", (e) => e.code);
       out.changeCoturn = await c.binding(${JSON.stringify(s.coturn)}, { changePort: true, timeoutMs: 1500 })
         .then(() => "answered", (e) => e.code);
       c.close();`,
    );
    expect(out.other).toEqual({
      host: lab.info.pub.ip4Alt,
      port: lab.info.p2pdStun?.altPort,
      family: 4,
    });
    expect(out.change).toBe("ERR_STUN_TIMEOUT");
    expect(out.changeCoturn).toBe("ERR_STUN_TIMEOUT");
  });

  test("symmetric NAT: a new port per server, the same public IP, and agreement on the IP still holds", async () => {
    const s = servers();
    const out = await inNode(
      "b1",
      `const c = await stun.StunClient.udp();
       out.m1 = (await c.binding(${JSON.stringify(s.coturn)}, { timeoutMs: 8000 })).mapped;
       out.m2 = (await c.binding(${JSON.stringify(s.ours)}, { timeoutMs: 8000 })).mapped;
       c.close();
       out.ip = (await stun.getExternalAddress(${JSON.stringify([s.coturn, s.ours])}, { timeoutMs: 8000 })).ip;
       out.tcp = (await stun.getMappedAddress(${JSON.stringify(s.ours)}, { protocol: "tcp", timeoutMs: 8000 })).mapped;`,
    );
    const b1 = lab.host("b1");
    const m1 = out.m1 as { host: string; port: number };
    const m2 = out.m2 as { host: string; port: number };
    expect(m1.host).toBe(b1.publicIp4);
    expect(m2.host).toBe(b1.publicIp4);
    expect(m1.port).not.toBe(m2.port);
    expect(out.ip).toBe(b1.publicIp4);
    expect((out.tcp as { host: string }).host).toBe(b1.publicIp4);
  });

  test("IPv6 is routed without NAT: the mapped address is the host's own", async (ctx) => {
    const a1 = lab.host("a1");
    if (!a1.ip6 || !lab.info.pub.ip6) ctx.skip();
    const out = await inNode(
      "a1",
      `out.m = (await stun.getMappedAddress(${JSON.stringify(`[${lab.info.pub.ip6}]:${lab.info.p2pdStun?.port}`)}, { timeoutMs: 8000 })).mapped;`,
    );
    expect((out.m as { host: string }).host).toBe(a1.ip6);
  });
});
