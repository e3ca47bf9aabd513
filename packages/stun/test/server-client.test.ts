import { describe, expect, test } from "vitest";
import {
  ATTR,
  getMappedAddress,
  METHOD,
  StunClient,
  StunMessage,
  StunServer,
  stunRequest,
} from "../src/index.js";
import { loopbackServerForFile } from "./helpers.js";

// A full RFC 5780 server on two loopback IPs and two ephemeral ports, shared by the tests below.
const server = loopbackServerForFile();

describe("StunServer + client over UDP", () => {
  test("listens on 2 IPs × 2 ports × 2 protocols", () => {
    const eps = server().endpoints();
    expect(eps).toHaveLength(8);
    expect(new Set(eps.map((e) => `${e.host}:${e.port}`)).size).toBe(4);
    expect(server().other?.host).toBe("127.0.0.2");
  });

  test("binding: mapped address equals our socket, RFC 5780 attributes present", async () => {
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    try {
      const r = await c.binding(server().primary, { signal: AbortSignal.timeout(5000) });
      expect(r.mapped).toEqual(c.local());
      expect(r.responseOrigin).toEqual(server().primary);
      expect(r.otherAddress).toEqual(server().other);
      expect(r.protocol).toBe("udp");
      expect(r.rtt).toBeGreaterThanOrEqual(0);
    } finally {
      c.close();
    }
  });

  test("CHANGE-REQUEST: answers come from the other IP and/or port", async () => {
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    try {
      const p = server().primary;
      const o = server().other as NonNullable<ReturnType<typeof server>["other"]>;
      const both = await c.binding(p, { changeIp: true, changePort: true });
      expect(both.from).toEqual(o);
      const ipOnly = await c.binding(p, { changeIp: true });
      expect(ipOnly.from).toEqual({ ...o, port: p.port });
      const portOnly = await c.binding(p, { changePort: true });
      expect(portOnly.from).toEqual({ ...p, port: o.port });
      expect(portOnly.responseOrigin).toEqual(portOnly.from);
    } finally {
      c.close();
    }
  });

  test("one-shot helpers over UDP and TCP", async () => {
    const udp = await getMappedAddress(server().primary, { localAddress: "127.0.0.1" });
    expect(udp.mapped.host).toBe("127.0.0.1");
    const tcp = await getMappedAddress(`127.0.0.1:${server().primary.port}`, { protocol: "tcp" });
    expect(tcp.protocol).toBe("tcp");
    expect(tcp.mapped).toEqual(tcp.local);
    const raw = await stunRequest(server().primary, { protocol: "tcp", framing: "rfc4571" });
    expect(raw.message.cls).toBe("success");
  });

  test("CHANGE-REQUEST over TCP is refused with 400", async () => {
    await expect(
      getMappedAddress(server().primary, { protocol: "tcp", changePort: true }),
    ).rejects.toMatchObject({
      code: "ERR_STUN_ERROR_RESPONSE",
      status: 400,
    });
  });

  test("RFC 3489 request (no cookie) gets MAPPED/SOURCE/CHANGED-ADDRESS", async () => {
    const tid = new Uint8Array(16).fill(7);
    const req = new StunMessage({ method: METHOD.BINDING, cls: "request", transactionId: tid });
    const r = await stunRequest(server().primary, { message: req, localAddress: "127.0.0.1" });
    expect(r.message.legacy).toBe(true);
    expect(r.message.getAddress(ATTR.MAPPED_ADDRESS)?.host).toBe("127.0.0.1");
    expect(r.message.getAddress(ATTR.SOURCE_ADDRESS)).toEqual(server().primary);
    expect(r.message.getAddress(ATTR.CHANGED_ADDRESS)).toEqual(server().other);
  });

  test("a server without alternates answers change requests with 420", async () => {
    const single = await new StunServer({
      ips: ["127.0.0.1"],
      port: 0,
      protocols: ["udp"],
    }).listen();
    try {
      await expect(getMappedAddress(single.primary, { changeIp: true })).rejects.toMatchObject({
        status: 420,
      });
      const ok = await getMappedAddress(single.primary);
      expect(ok.otherAddress).toBeUndefined();
    } finally {
      await single.close();
    }
  });

  test("IPv6 on ::1 over UDP and TCP", async () => {
    const v6 = await new StunServer({ ips: ["::1"], port: 0 }).listen();
    try {
      const u = await getMappedAddress(v6.primary, { family: 6 });
      expect(u.mapped.host).toBe("::1");
      expect(u.mapped.family).toBe(6);
      const t = await getMappedAddress(`[::1]:${v6.primary.port}`, { protocol: "tcp" });
      expect(t.mapped.host).toBe("::1");
    } finally {
      await v6.close();
    }
  });
});
