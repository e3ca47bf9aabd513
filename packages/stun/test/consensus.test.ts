import { createSocket } from "node:dgram";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ATTR,
  createExternalIpResolver,
  decodeMessage,
  encodeMessage,
  getExternalAddress,
  METHOD,
  resolveExternalIp,
  StunMessage,
  StunServer,
} from "../src/index.js";
import { udpSink } from "./helpers.js";

// Two honest servers and one that lies about our address (a real UDP server on loopback).
let a: StunServer;
let b: StunServer;
const liar = createSocket("udp4");
let liarAddr: { host: string; port: number };

beforeAll(async () => {
  a = await new StunServer({ ips: ["127.0.0.1"], port: 0, protocols: ["udp", "tcp"] }).listen();
  b = await new StunServer({ ips: ["127.0.0.1"], port: 0, protocols: ["udp", "tcp"] }).listen();
  await new Promise<void>((r) => liar.bind(0, "127.0.0.1", r));
  liar.on("message", (data, rinfo) => {
    const req = decodeMessage(data);
    const res = new StunMessage({
      method: METHOD.BINDING,
      cls: "success",
      transactionId: req.transactionId,
    });
    res.addAddress(ATTR.XOR_MAPPED_ADDRESS, { host: "203.0.113.9", port: rinfo.port });
    liar.send(encodeMessage(res), rinfo.port, rinfo.address);
  });
  liarAddr = { host: "127.0.0.1", port: liar.address().port };
});
afterAll(async () => {
  await a.close();
  await b.close();
  liar.close();
});

describe("external address agreement", () => {
  test("two agreeing servers win; the liar is reported as disagreeing", async () => {
    const r = await getExternalAddress([a.primary, liarAddr, b.primary], {
      localAddress: "127.0.0.1",
      waitAll: true,
    });
    expect(r.ip).toBe("127.0.0.1");
    expect(r.agreed.map((x) => x.server).sort()).toEqual(
      [`127.0.0.1:${a.primary.port}`, `127.0.0.1:${b.primary.port}`].sort(),
    );
    expect(r.disagreed).toHaveLength(1);
    expect(r.disagreed[0]?.mapped?.host).toBe("203.0.113.9");
    for (const x of r.agreed) expect(x.rtt).toBeGreaterThanOrEqual(0);
  });

  test("one honest server and one liar: no quorum, typed error with per-server details", async () => {
    const err = await getExternalAddress([a.primary, liarAddr], {
      localAddress: "127.0.0.1",
    }).catch((e) => e);
    expect(err.code).toBe("ERR_STUN_NO_QUORUM");
    const hosts = (err.details as { mapped?: { host: string } }[])
      .map((d) => d.mapped?.host)
      .sort();
    expect(hosts).toEqual(["127.0.0.1", "203.0.113.9"]);
  });

  test("a single server is never trusted by default", async () => {
    await expect(getExternalAddress([a.primary])).rejects.toMatchObject({
      code: "ERR_STUN_NO_QUORUM",
    });
    const one = await getExternalAddress([a.primary], { minAgree: 1 });
    expect(one.ip).toBe("127.0.0.1");
  });

  test("dead servers are reported as failed, the rest still agree", async () => {
    const dead = await udpSink();
    try {
      const r = await getExternalAddress(
        [{ host: "127.0.0.1", port: dead.address().port }, a.primary, b.primary],
        {
          timeoutMs: 300,
          waitAll: true,
        },
      );
      expect(r.ip).toBe("127.0.0.1");
      expect(r.failed).toHaveLength(1);
      expect(r.failed[0]?.error?.code).toBe("ERR_STUN_TIMEOUT");
    } finally {
      dead.close();
    }
  });

  test("RTT is measured per server: a server behind a 120 ms delay reports at least that", async () => {
    // A relay that holds every request 120 ms, then asks server b from its own socket and relays the answer
    // back from the address the client sent to (so it passes the source check, and reports 127.0.0.1 too).
    const relay = await udpSink();
    const upstream = await udpSink();
    const waiting = new Map<string, { port: number; address: string }>();
    relay.on("message", (data, rinfo) => {
      waiting.set(decodeMessage(data).id, rinfo);
      setTimeout(() => upstream.send(data, b.primary.port, b.primary.host), 120);
    });
    upstream.on("message", (data) => {
      const to = waiting.get(decodeMessage(data).id);
      if (to) relay.send(data, to.port, to.address);
    });
    try {
      const slow = { host: "127.0.0.1", port: relay.address().port };
      const r = await getExternalAddress([a.primary, slow], { waitAll: true, rto: 1000 });
      expect(r.ip).toBe("127.0.0.1");
      const bySrv = new Map(r.agreed.map((x) => [x.server, x.rtt]));
      const slowRtt = bySrv.get(`127.0.0.1:${slow.port}`) as number;
      expect(slowRtt).toBeGreaterThanOrEqual(119);
      // Both are measured from their own send, so the direct server's RTT lacks the relay's 120 ms.
      expect(bySrv.get(`127.0.0.1:${a.primary.port}`)).toBeLessThan(slowRtt);
    } finally {
      relay.close();
      upstream.close();
    }
  });

  test("over TCP", async () => {
    const r = await getExternalAddress([a.primary, b.primary], { protocol: "tcp" });
    expect(r.ip).toBe("127.0.0.1");
  });

  test("resolveExternalIp: (localAddress, opts), (opts) and the bound resolver give the IP", async () => {
    const servers = [a.primary, `127.0.0.1:${b.primary.port}`];
    expect(await resolveExternalIp("127.0.0.1", { servers })).toBe("127.0.0.1");
    expect(await resolveExternalIp({ localAddress: "127.0.0.1", family: 4, servers })).toBe(
      "127.0.0.1",
    );
    const hook = createExternalIpResolver({ servers });
    expect(
      await hook({ family: 4, localAddress: "127.0.0.1", signal: AbortSignal.timeout(5000) }),
    ).toBe("127.0.0.1");
    await expect(resolveExternalIp("127.0.0.1")).rejects.toMatchObject({
      code: "ERR_STUN_BAD_ARGUMENT",
    });
  });
});
