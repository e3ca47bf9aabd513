import { describe, expect, test } from "vitest";
import { classifyIp, IPRange, isPrivateIp, P2pdNetError } from "../src/index.js";

describe("IPRange", () => {
  test("a host address with a netmask keeps its host IP (P2PD lost it)", () => {
    const r = IPRange.from("192.168.1.179", { netmask: "255.255.255.0" });
    expect(r.ip).toBe("192.168.1.179");
    expect(r.prefix).toBe(24);
    expect(r.first).toBe("192.168.1.0");
    expect(r.last).toBe("192.168.1.255");
    expect(r.size).toBe(256n);
    expect(r.isHost).toBe(true);
    expect(r.contains("192.168.1.7")).toBe(true);
    expect(r.contains("192.168.2.7")).toBe(false);
  });

  test("network() clears host bits; a block is not a host", () => {
    const r = IPRange.network("10.1.2.3/8");
    expect(r.ip).toBe("10.0.0.0");
    expect(r.isHost).toBe(false);
    expect(r.at(1)).toBe("10.0.0.1");
    expect(r.at(-1)).toBe("10.255.255.255");
    expect(() => r.at(1n << 24n)).toThrow(expect.objectContaining({ code: "ERR_BAD_ARGUMENT" }));
    expect(() => r.at(1.5)).toThrow(expect.objectContaining({ code: "ERR_BAD_ARGUMENT" }));
  });

  test("IPv6 /64 maths is bigint-safe (Python overflowed)", () => {
    const r = IPRange.from("2001:db8::/64");
    expect(r.size).toBe(1n << 64n);
    expect(r.at(-1)).toBe("2001:db8::ffff:ffff:ffff:ffff");
    expect(r.at((1n << 63n) + 5n)).toBe("2001:db8::8000:0:0:5");
    const all = IPRange.from("::/0");
    expect(all.size).toBe(1n << 128n);
    expect(all.contains("2001:db8::1")).toBe(true);
  });

  test("intersection, containment and family", () => {
    const a = IPRange.from("192.168.1.0/24");
    expect(a.intersects(IPRange.from("192.168.1.20"))).toBe(true);
    expect(a.intersects(IPRange.from("192.168.0.0/16"))).toBe(true);
    expect(a.intersects(IPRange.from("192.168.2.0/24"))).toBe(false);
    expect(a.contains(IPRange.from("192.168.0.0/16"))).toBe(false);
    expect(a.intersects(IPRange.from("::/0"))).toBe(false);
  });

  test("JSON round trip, P2PD's exploded IPv6 and AF ints accepted", () => {
    const r = IPRange.from("fd00::2/64");
    expect(IPRange.fromJSON(r.toJSON()).equals(r)).toBe(true);
    const py = IPRange.fromJSON({
      ip: "fd00:0000:0000:0000:0000:0000:0000:0002",
      cidr: 128,
      af: 10,
    });
    expect(py.ip).toBe("fd00::2");
    expect(IPRange.fromJSON({ ip: "1.2.3.4", cidr: 32, af: 2 }).family).toBe(4);
    expect(() => IPRange.fromJSON({ ip: "1.2.3.4", cidr: 32, af: 10 })).toThrow(P2pdNetError);
    expect(() => IPRange.fromJSON({ ip: "1.2.3.4", cidr: 33 })).toThrow(P2pdNetError);
    expect(() => IPRange.fromJSON({ cidr: 3 })).toThrow(P2pdNetError);
    expect(() => IPRange.from("1.2.3.4/x")).toThrow(P2pdNetError);
  });
});

describe("is_private-equivalent classification", () => {
  // CPython 3.13 ipaddress.is_private, with P2PD's override that 0.0.0.0 is public.
  test.each([
    ["10.1.2.3", true, "private"],
    ["172.31.255.1", true, "private"],
    ["172.32.0.1", false, "public"],
    ["192.168.0.1", true, "private"],
    ["192.0.2.5", true, "documentation"],
    ["198.18.0.1", true, "benchmark"],
    ["100.64.0.1", false, "cgnat"],
    ["0.0.0.0", false, "unspecified"],
    ["0.1.2.3", true, "reserved"],
    ["127.0.0.1", true, "loopback"],
    ["169.254.1.1", true, "link-local"],
    ["224.0.0.1", false, "multicast"],
    ["255.255.255.255", true, "broadcast"],
    ["192.0.0.9", false, "reserved"],
    ["192.0.0.1", true, "reserved"],
    ["8.8.8.8", false, "public"],
    ["fd00::1", true, "unique-local"],
    ["fe80::1", true, "link-local"],
    ["2001:db8::1", true, "documentation"],
    ["2001:4860:4860::8888", false, "public"],
    ["2001:20::1", false, "reserved"],
    ["2001::1", true, "reserved"],
    ["::1", true, "loopback"],
    ["::", true, "unspecified"],
    ["::ffff:10.0.0.1", true, "ipv4-mapped"],
    ["ff02::1", false, "multicast"],
    ["2606:4700::1111", false, "public"],
  ])("%s private=%s class=%s", (ip, priv, cls) => {
    expect(isPrivateIp(ip)).toBe(priv);
    expect(classifyIp(ip)).toBe(cls);
  });
});
