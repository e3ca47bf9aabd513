import { describe, expect, test } from "vitest";
import {
  explodeIp6,
  formatIp,
  ipFamily,
  netmaskToPrefix,
  normalizeIp,
  P2pdNetError,
  parseIp,
  prefixToNetmask,
  tryParseIp,
} from "../src/index.js";

describe("IP parsing and formatting", () => {
  test.each([
    ["192.168.1.20", 4, "192.168.1.20"],
    ["0.0.0.0", 4, "0.0.0.0"],
    ["::", 6, "::"],
    ["::1", 6, "::1"],
    ["2001:db8:0:0:1:0:0:1", 6, "2001:db8::1:0:0:1"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", 6, "2001:db8::1"],
    ["fe80::1%eth0", 6, "fe80::1"],
    ["[fd00::2]", 6, "fd00::2"],
    ["::ffff:1.2.3.4", 6, "::ffff:102:304"],
    ["1:0:0:2:0:0:0:3", 6, "1:0:0:2::3"],
  ])("%s is IPv%i, canonical %s", (input, family, canonical) => {
    expect(ipFamily(input)).toBe(family);
    expect(normalizeIp(input)).toBe(canonical);
  });

  test.each([
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.4%eth0",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "gggg::1",
    "fe80::1%",
    "12345::",
    ":::",
    "example.com",
  ])("rejects %j", (input) => {
    expect(tryParseIp(input)).toBeUndefined();
    expect(() => parseIp(input)).toThrow(P2pdNetError);
    try {
      parseIp(input);
    } catch (e) {
      expect((e as P2pdNetError).code).toBe("ERR_BAD_ADDRESS");
    }
  });

  test("keeps the zone of a link-local", () => {
    expect(parseIp("fe80::1%eth0").scopeId).toBe("eth0");
    expect(parseIp("fe80::1%12").scopeId).toBe("12");
  });

  test("explodes IPv6 as P2PD serialises it", () => {
    expect(explodeIp6(parseIp("2001:db8::1").value)).toBe(
      "2001:0db8:0000:0000:0000:0000:0000:0001",
    );
  });

  test("RFC 5952: a single zero group is not compressed, the longest run is", () => {
    expect(formatIp(6, parseIp("1:0:2:3:4:5:6:7").value)).toBe("1:0:2:3:4:5:6:7");
    expect(formatIp(6, parseIp("1:0:0:2:0:0:0:3").value)).toBe("1:0:0:2::3");
  });

  test("netmask <-> prefix", () => {
    expect(netmaskToPrefix("255.255.255.0")).toBe(24);
    expect(netmaskToPrefix("255.255.255.255")).toBe(32);
    expect(netmaskToPrefix("0.0.0.0")).toBe(0);
    expect(netmaskToPrefix("ffff:ffff:ffff:ffff::")).toBe(64);
    expect(prefixToNetmask(4, 20)).toBe("255.255.240.0");
    expect(prefixToNetmask(6, 64)).toBe("ffff:ffff:ffff:ffff::");
    expect(() => netmaskToPrefix("255.0.255.0")).toThrow(/contiguous/);
    expect(() => prefixToNetmask(4, 33)).toThrow(P2pdNetError);
  });
});
