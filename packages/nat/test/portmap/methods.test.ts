// Each method strategy on its own, against a stand-in for the mapper's shared context: what it
// sends (through the real codecs) and how it describes the gateway's answer. The real gateway
// (miniupnpd in namespaces) is the proof in lab.test.ts and lease.test.ts; this is the logic.
import { describe, expect, test } from "vitest";
import { ipTo16 } from "../../src/portmap/ip16.js";
import type { MethodContext, Target } from "../../src/portmap/methods/method.js";
import { natpmpMethod } from "../../src/portmap/methods/natpmp.js";
import { pcpMethod } from "../../src/portmap/methods/pcp.js";
import { pinholeMethod } from "../../src/portmap/methods/pinhole.js";
import { upnpMethod } from "../../src/portmap/methods/upnp.js";
import type { UpnpGateway } from "../../src/portmap/upnp.js";

const LOCAL = "192.168.1.10";
const never = new AbortController().signal;

interface Sent {
  gateway: string;
  what: string;
  packet: Buffer;
}

/** A context whose NAT-PMP/PCP gateway answers with `answer(packet)` and whose IGD is `igd`. */
function context(answer: (packet: Buffer) => Uint8Array, igd?: Partial<UpnpGateway>) {
  const sent: Sent[] = [];
  const ctx: MethodContext = {
    timeoutMs: 1000,
    description: "test-desc",
    log: undefined,
    gateway: async (family) => (family === 4 ? "192.168.1.1" : "fe80::1%eth0"),
    igd: async () => igd as UpnpGateway,
    async exchange(x) {
      const packet = Buffer.from(x.build(LOCAL));
      sent.push({ gateway: x.gateway, what: x.what, packet });
      const r = x.match(answer(packet));
      if (!r) throw new Error("the answer did not match the request");
      return { r, local: LOCAL };
    },
  };
  return { ctx, sent };
}

const target = (t: Partial<Target & { lifetime: number }> = {}): Target & { lifetime: number } => ({
  port: 5000,
  proto: "udp",
  family: 4,
  externalPort: 6000,
  lifetime: 60,
  ...t,
});

// RFC 6886: a map request granted as asked, or the external address 11.11.11.1.
function natpmpGateway(packet: Buffer): Uint8Array {
  if (packet[1] === 0) return Uint8Array.from([0, 128, 0, 0, 0, 0, 0, 9, 11, 11, 11, 1]);
  const out = Buffer.alloc(16);
  out[1] = 128 + (packet[1] ?? 0);
  out.writeUInt32BE(9, 4);
  packet.copy(out, 8, 4, 12); // internal port, external port, lifetime
  return out;
}

// RFC 6887: a MAP granted as asked, from external address `ip`.
const pcpGateway =
  (ip: string) =>
  (packet: Buffer): Uint8Array => {
    const out = Buffer.alloc(60);
    packet.copy(out, 24, 24, 60); // nonce, protocol, ports
    out[0] = 2;
    out[1] = 0x81;
    out.writeUInt32BE(packet.readUInt32BE(4), 4);
    out.writeUInt32BE(9, 8);
    out.set(ipTo16(ip), 44);
    return out;
  };

describe("natpmp strategy", () => {
  test("IPv4 only; deletes by port, so no handle", () => {
    const m = natpmpMethod(context(natpmpGateway).ctx);
    expect([m.name, m.supports(4), m.supports(6), m.checkHandle]).toEqual([
      "natpmp",
      true,
      false,
      undefined,
    ]);
  });

  test("map: one map request, then the external address (the map answer has none)", async () => {
    const { ctx, sent } = context(natpmpGateway);
    const got = await natpmpMethod(ctx).map(target(), never);
    expect(got).toEqual({
      method: "natpmp",
      protocol: "udp",
      internal: { ip: LOCAL, port: 5000 },
      external: { ip: "11.11.11.1", port: 6000 },
      lifetime: 60,
      gateway: "192.168.1.1",
    });
    expect(sent.map((s) => s.what)).toEqual(["NAT-PMP map", "NAT-PMP external address"]);
    const p = sent[0]?.packet ?? Buffer.alloc(12);
    expect([p[1], p.readUInt16BE(4), p.readUInt16BE(6), p.readUInt32BE(8)]).toEqual([
      1, 5000, 6000, 60,
    ]);
  });

  test("a given internal address is reported as the internal side", async () => {
    const got = await natpmpMethod(context(natpmpGateway).ctx).map(
      target({ internalAddress: "192.168.1.20", proto: "tcp" }),
      never,
    );
    expect(got.internal).toEqual({ ip: "192.168.1.20", port: 5000 });
  });

  test("unmap: lifetime 0 and external port 0 (RFC 6886 §3.4), no address request", async () => {
    const { ctx, sent } = context(natpmpGateway);
    await natpmpMethod(ctx).unmap(target({ proto: "tcp" }), never);
    expect(sent).toHaveLength(1);
    const p = sent[0]?.packet ?? Buffer.alloc(12);
    expect([p[1], p.readUInt16BE(4), p.readUInt16BE(6), p.readUInt32BE(8)]).toEqual([
      2, 5000, 0, 0,
    ]);
  });
});

describe("pcp strategy", () => {
  test("both families; the handle is the 24-hex-digit nonce", () => {
    const m = pcpMethod(context(pcpGateway("11.11.11.1")).ctx);
    expect([m.name, m.supports(4), m.supports(6), m.externalIp]).toEqual([
      "pcp",
      true,
      true,
      undefined,
    ]);
    expect(() => m.checkHandle?.("a".repeat(24))).not.toThrow();
    for (const bad of ["xyz", "a".repeat(23), "g".repeat(24)])
      expect(() => m.checkHandle?.(bad)).toThrow(
        expect.objectContaining({ code: "ERR_PORTMAP_BAD_ARGUMENT" }),
      );
  });

  test("map: a fresh nonce becomes the handle; a renewal sends the same nonce", async () => {
    const { ctx, sent } = context(pcpGateway("11.11.11.1"));
    const m = pcpMethod(ctx);
    const got = await m.map(target(), never);
    expect(got).toMatchObject({
      method: "pcp",
      internal: { ip: LOCAL, port: 5000 },
      external: { ip: "11.11.11.1", port: 6000 },
      lifetime: 60,
      gateway: "192.168.1.1",
      handle: sent[0]?.packet.subarray(24, 36).toString("hex"),
    });
    expect(got.handle).toMatch(/^[0-9a-f]{24}$/);
    await m.map(target({ handle: got.handle }), never);
    expect(sent[1]?.packet.subarray(24, 36).toString("hex")).toBe(got.handle);
    // PCP maps the request's source: the packet carries our address towards the gateway.
    expect(sent[0]?.packet.subarray(8, 24)).toEqual(Buffer.from(ipTo16(LOCAL)));
  });

  test("IPv6 goes to the IPv6 gateway", async () => {
    const { ctx, sent } = context(pcpGateway("2001:db8::5"));
    const got = await pcpMethod(ctx).map(target({ family: 6 }), never);
    expect([sent[0]?.gateway, got.gateway, got.external.ip]).toEqual([
      "fe80::1%eth0",
      "fe80::1%eth0",
      "2001:db8::5",
    ]);
  });

  test("unmap: lifetime 0 with the mapping's nonce; without a handle, nothing is sent", async () => {
    const { ctx, sent } = context(pcpGateway("11.11.11.1"));
    const handle = "0123456789abcdef01234567";
    expect(await pcpMethod(ctx).unmap(target({ handle }), never)).toEqual({
      ip: "11.11.11.1",
      port: 6000,
    });
    expect(sent[0]?.packet.readUInt32BE(4)).toBe(0);
    expect(sent[0]?.packet.subarray(24, 36).toString("hex")).toBe(handle);
    await expect(pcpMethod(ctx).unmap(target(), never)).rejects.toMatchObject({
      code: "ERR_PORTMAP_BAD_ARGUMENT",
    });
    expect(sent).toHaveLength(1);
  });
});

/** An IGD stand-in recording each action. */
function igd(localAddress: string, location = "http://192.168.1.1:5000/rootDesc.xml") {
  const calls: unknown[][] = [];
  const gw: Partial<UpnpGateway> = {
    location,
    localAddress,
    externalIp: async () => "11.11.11.1",
    addPortMapping: async (m) => {
      calls.push(["add", m]);
      return { externalPort: 40000, lifetime: m.lifetime };
    },
    deletePortMapping: async (port, proto) => void calls.push(["delete", port, proto]),
    addPinhole: async (p) => {
      calls.push(["addPinhole", p]);
      return 7;
    },
    updatePinhole: async (id, lifetime) => void calls.push(["updatePinhole", id, lifetime]),
    deletePinhole: async (id) => void calls.push(["deletePinhole", id]),
  } as Partial<UpnpGateway>;
  return { gw, calls };
}

describe("upnp strategy", () => {
  test("map: our LAN address, the description, any port the gateway picks", async () => {
    const { gw, calls } = igd(LOCAL);
    const m = upnpMethod(context(() => new Uint8Array(), gw).ctx);
    expect([m.supports(4), m.supports(6), m.checkHandle]).toEqual([true, false, undefined]);
    expect(await m.map(target({ proto: "tcp" }), never)).toEqual({
      method: "upnp",
      protocol: "tcp",
      internal: { ip: LOCAL, port: 5000 },
      external: { ip: "11.11.11.1", port: 40000 },
      lifetime: 60,
      gateway: "192.168.1.1",
    });
    expect(calls).toEqual([
      [
        "add",
        {
          externalPort: 6000,
          protocol: "tcp",
          internalPort: 5000,
          internalClient: LOCAL,
          lifetime: 60,
          description: "test-desc",
          anyPort: true,
        },
      ],
    ]);
  });

  test("unmap deletes by external port; externalIp names the IGD's host", async () => {
    const { gw, calls } = igd(LOCAL);
    const m = upnpMethod(context(() => new Uint8Array(), gw).ctx);
    expect(await m.unmap(target(), never)).toEqual({ ip: "", port: 6000 });
    expect(calls).toEqual([["delete", 6000, "udp"]]);
    expect(await m.externalIp?.(never)).toEqual({ ip: "11.11.11.1", gateway: "192.168.1.1" });
  });
});

describe("upnp-pinhole strategy", () => {
  const v6 = "2001:db8:77::10";
  const location = "http://[2001:db8:77::1]:5000/rootDesc.xml";

  test("IPv6 only; the handle is the decimal UniqueID", () => {
    const m = pinholeMethod(context(() => new Uint8Array()).ctx);
    expect([m.name, m.supports(4), m.supports(6)]).toEqual(["upnp-pinhole", false, true]);
    expect(() => m.checkHandle?.("42")).not.toThrow();
    expect(() => m.checkHandle?.("4x")).toThrow(
      expect.objectContaining({ code: "ERR_PORTMAP_BAD_ARGUMENT" }),
    );
  });

  test("map opens a pinhole for our address towards the IGD; with the handle, updates it", async () => {
    const { gw, calls } = igd(v6, location);
    const m = pinholeMethod(context(() => new Uint8Array(), gw).ctx);
    const got = await m.map(target({ family: 6 }), never);
    expect(got).toEqual({
      method: "upnp-pinhole",
      protocol: "udp",
      internal: { ip: v6, port: 5000 },
      external: { ip: v6, port: 5000 },
      lifetime: 60,
      gateway: "2001:db8:77::1",
      handle: "7",
    });
    await m.map(target({ family: 6, handle: "7", lifetime: 120 }), never);
    expect(calls).toEqual([
      ["addPinhole", { internalClient: v6, internalPort: 5000, protocol: "udp", lifetime: 60 }],
      ["updatePinhole", 7, 120],
    ]);
  });

  test("an IPv4 internal address cannot have a pinhole: ERR_PORTMAP_NO_GATEWAY, nothing asked", async () => {
    const { gw, calls } = igd(v6, location);
    const m = pinholeMethod(context(() => new Uint8Array(), gw).ctx);
    await expect(
      m.map(target({ family: 6, internalAddress: "10.0.0.1" }), never),
    ).rejects.toMatchObject({ code: "ERR_PORTMAP_NO_GATEWAY" });
    expect(calls).toEqual([]);
  });

  test("unmap deletes by handle, and needs one", async () => {
    const { gw, calls } = igd(v6, location);
    const m = pinholeMethod(context(() => new Uint8Array(), gw).ctx);
    expect(await m.unmap(target({ family: 6, handle: "7" }), never)).toEqual({
      ip: v6,
      port: 5000,
    });
    await expect(m.unmap(target({ family: 6 }), never)).rejects.toMatchObject({
      code: "ERR_PORTMAP_BAD_ARGUMENT",
    });
    expect(calls).toEqual([["deletePinhole", 7]]);
  });
});
