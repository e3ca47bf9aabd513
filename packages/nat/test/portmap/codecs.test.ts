import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  buildSoapEnvelope,
  decodeNatPmpMap,
  decodePcpMapResponse,
  encodeNatPmpMapRequest,
  encodePcpMapRequest,
  judgeExternal,
  PortMapBadResponseError,
  PortMapError,
  PortMapRefusedError,
  PortMapUnsupportedError,
  parseIgdDescription,
  parseProcNetIpv6Route,
  parseProcNetRoute,
  parseSoapResponse,
  parseSsdpResponse,
} from "../../src/portmap/index.js";
import { ipFrom16, ipTo16 } from "../../src/portmap/ip16.js";
import { decodeNatPmpExternalAddress } from "../../src/portmap/natpmp.js";
import { unreachableReason } from "../../src/portmap/reach.js";
import { buildMSearch } from "../../src/portmap/ssdp.js";
import { parseXml } from "../../src/portmap/xml.js";

const vectors = join(dirname(fileURLToPath(import.meta.url)), "vectors");
const rootDesc = readFileSync(join(vectors, "miniupnpd-rootDesc.xml"), "utf8");
const fault714 = readFileSync(join(vectors, "soap-fault-714.xml"), "utf8");
const ssdp = readFileSync(join(vectors, "ssdp-response.txt"));

/** Runs a decoder on arbitrary input: it may return, or throw a PortMapError, nothing else. */
function total(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof PortMapError)) throw e;
  }
}

describe("NAT-PMP codec (RFC 6886)", () => {
  test("map request layout: version 0, opcode 1 UDP / 2 TCP, ports and lifetime big-endian", () => {
    const b = encodeNatPmpMapRequest({
      protocol: "tcp",
      internalPort: 0x1234,
      externalPort: 0x5678,
      lifetime: 7200,
    });
    expect([...b]).toEqual([0, 2, 0, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0x1c, 0x20]);
    expect(
      encodeNatPmpMapRequest({ protocol: "udp", internalPort: 1, externalPort: 0, lifetime: 0 })[1],
    ).toBe(1);
  });

  test("decodes map and address answers, maps result codes to typed errors", () => {
    const ok = Uint8Array.from([
      0, 130, 0, 0, 0, 0, 1, 0, 0x12, 0x34, 0x9c, 0x40, 0, 0, 0x0e, 0x10,
    ]);
    expect(decodeNatPmpMap(ok, "tcp")).toEqual({
      epoch: 256,
      internalPort: 0x1234,
      externalPort: 40000,
      lifetime: 3600,
    });
    expect(() => decodeNatPmpMap(ok, "udp")).toThrow(PortMapBadResponseError);
    const addr = Uint8Array.from([0, 128, 0, 0, 0, 0, 0, 9, 11, 11, 11, 1]);
    expect(decodeNatPmpExternalAddress(addr)).toEqual({ epoch: 9, ip: "11.11.11.1" });
    const refused = Uint8Array.from([0, 130, 0, 2, 0, 0, 0, 1]);
    expect(() => decodeNatPmpMap(refused, "tcp")).toThrow(PortMapRefusedError);
    const unsupported = Uint8Array.from([0, 130, 0, 5, 0, 0, 0, 1]);
    expect(() => decodeNatPmpMap(unsupported, "tcp")).toThrow(PortMapUnsupportedError);
    expect(() => decodeNatPmpMap(ok.subarray(0, 12), "tcp")).toThrow(PortMapBadResponseError);
  });

  test("fuzz: arbitrary bytes never crash the decoders", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        total(() => decodeNatPmpMap(b, "tcp"));
        total(() => decodeNatPmpMap(b, "udp"));
        total(() => decodeNatPmpExternalAddress(b));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("PCP codec (RFC 6887)", () => {
  const nonce = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
  const req = {
    clientIp: "192.168.77.2",
    nonce,
    protocol: "udp" as const,
    internalPort: 5000,
    externalPort: 6000,
    lifetime: 120,
  };

  // A server's answer: the request with R set, result, epoch, and the assigned port/address.
  function answer(result: number, extPort: number, extIp: string): Uint8Array {
    const b = encodePcpMapRequest(req);
    const v = new DataView(b.buffer);
    b[1] = 0x81;
    b[3] = result;
    v.setUint32(8, 77);
    b.fill(0, 12, 24);
    v.setUint16(42, extPort);
    b.set(ipTo16(extIp), 44);
    return b;
  }

  test("request layout: version 2, MAP, client address as IPv4-mapped IPv6, protocol 17", () => {
    const b = encodePcpMapRequest(req);
    expect(b.length).toBe(60);
    expect([b[0], b[1]]).toEqual([2, 1]);
    expect(ipFrom16(b.subarray(8, 24))).toBe("192.168.77.2");
    expect([...b.subarray(24, 36)]).toEqual([...nonce]);
    expect(b[36]).toBe(17);
  });

  test("decodes ours, ignores others (nonce), types errors", () => {
    expect(decodePcpMapResponse(answer(0, 6001, "11.11.11.1"), req)).toEqual({
      lifetime: 120,
      epoch: 77,
      internalPort: 5000,
      externalPort: 6001,
      externalIp: "11.11.11.1",
    });
    expect(
      decodePcpMapResponse(answer(0, 6001, "11.11.11.1"), { ...req, nonce: new Uint8Array(12) }),
    ).toBeUndefined();
    expect(() => decodePcpMapResponse(answer(2, 0, "0.0.0.0"), req)).toThrow(PortMapRefusedError);
    // A NAT-PMP-only gateway answers PCP with version 0 "unsupported version".
    expect(() => decodePcpMapResponse(Uint8Array.from([0, 129, 0, 1, 0, 0, 0, 0]), req)).toThrow(
      PortMapUnsupportedError,
    );
    expect(() => decodePcpMapResponse(answer(0, 1, "1.2.3.4").subarray(0, 40), req)).toThrow(
      PortMapBadResponseError,
    );
  });

  test("fuzz: arbitrary bytes and mutated answers never crash the decoder", () => {
    const good = answer(0, 6001, "11.11.11.1");
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 120 }),
          fc.tuple(fc.nat(59), fc.integer({ min: 0, max: 255 })).map(([i, x]) => {
            const b = good.slice();
            b[i] = x;
            return b;
          }),
        ),
        (b) => total(() => decodePcpMapResponse(b, req)),
      ),
      { numRuns: 2000 },
    );
  });

  test("ipTo16/ipFrom16 round-trip IPv4 and IPv6", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const back = ipFrom16(ipTo16(ip));
        expect(ipTo16(back)).toEqual(ipTo16(ip));
      }),
    );
    expect(ipFrom16(ipTo16("2001:db8::1"))).toBe("2001:db8::1");
  });
});

describe("SSDP", () => {
  test("M-SEARCH names the target and the SSDP group", () => {
    const text = new TextDecoder().decode(
      buildMSearch("urn:schemas-upnp-org:device:InternetGatewayDevice:1"),
    );
    expect(text).toMatch(/^M-SEARCH \* HTTP\/1\.1\r\n/);
    expect(text).toContain('MAN: "ssdp:discover"');
    expect(text).toContain("ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1");
    expect(text.endsWith("\r\n\r\n")).toBe(true);
  });

  test("parses miniupnpd's answer (captured from the lab)", () => {
    const r = parseSsdpResponse(ssdp);
    expect(r.location).toMatch(/^http:\/\/192\.168\.77\.1:5000\/rootDesc\.xml$/);
    expect(r.st).toBe("urn:schemas-upnp-org:device:InternetGatewayDevice:1");
    expect(r.server).toContain("MiniUPnPd");
  });

  test("rejects non-answers and bad locations with typed errors", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(() => parseSsdpResponse(enc("NOTIFY * HTTP/1.1\r\n\r\n"))).toThrow(
      PortMapBadResponseError,
    );
    expect(() => parseSsdpResponse(enc("HTTP/1.1 200 OK\r\nST: x\r\n\r\n"))).toThrow(
      PortMapBadResponseError,
    );
    expect(() =>
      parseSsdpResponse(enc("HTTP/1.1 200 OK\r\nLOCATION: file:///etc/passwd\r\n\r\n")),
    ).toThrow(PortMapBadResponseError);
  });

  test("fuzz: arbitrary datagrams and header soups", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc
            .array(
              fc.tuple(
                fc.constantFrom("LOCATION", "ST", "USN", "X", ""),
                fc.string({ maxLength: 40 }),
              ),
            )
            .map((h) =>
              new TextEncoder().encode(
                `HTTP/1.1 200 OK\r\n${h.map(([k, v]) => `${k}:${v}`).join("\r\n")}\r\n\r\n`,
              ),
            ),
        ),
        (b) => total(() => parseSsdpResponse(b)),
      ),
      { numRuns: 2000 },
    );
  });
});

describe("XML and the IGD description", () => {
  test("finds WANIPConnection v2 and WANIPv6FirewallControl in miniupnpd's description", () => {
    const d = parseIgdDescription(rootDesc, "http://192.168.77.1:5000/rootDesc.xml");
    expect(d.connections[0]).toMatchObject({ kind: "WANIPConnection", version: 2 });
    expect(d.connections[0]?.controlUrl).toMatch(/^http:\/\/192\.168\.77\.1:5000\//);
    expect(d.firewall?.kind).toBe("WANIPv6FirewallControl");
  });

  test("ranks IP over PPP, resolves against URLBase, decodes entities and CDATA", () => {
    const xml = `<?xml version="1.0"?><root><URLBase>http://10.0.0.1:80/base/</URLBase><device><serviceList>
      <service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><controlURL>ppp</controlURL></service>
      <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ip?a=1&amp;b=2</controlURL></service>
      </serviceList><friendlyName><![CDATA[R&D <router>]]></friendlyName></device></root>`;
    const d = parseIgdDescription(xml, "http://10.0.0.1:5000/desc.xml");
    expect(d.connections.map((c) => c.kind)).toEqual(["WANIPConnection", "WANPPPConnection"]);
    expect(d.connections[0]?.controlUrl).toBe("http://10.0.0.1/ip?a=1&b=2");
    expect(d.connections[1]?.controlUrl).toBe("http://10.0.0.1/base/ppp");
    expect(d.friendlyName).toBe("R&D <router>");
  });

  test("malformed documents give PortMapBadResponseError", () => {
    for (const bad of [
      "",
      "<a>",
      "<a></b>",
      "<a>&bogus;</a>",
      "<!DOCTYPE x><a/>",
      "<a/><b/>",
      "text",
      "<a><b></a></b>",
    ])
      expect(() => parseXml(bad), bad).toThrow(PortMapBadResponseError);
    expect(() => parseIgdDescription("<root/>", "http://x/")).toThrow(PortMapBadResponseError);
    const ftp = rootDesc.replace("/ctl/IPConn", "ftp://elsewhere/ctl");
    expect(() => parseIgdDescription(ftp, "http://192.168.77.1:5000/rootDesc.xml")).toThrow(
      PortMapBadResponseError,
    );
    // A description may not send our SOAP requests to another host (another port is fine).
    const away = rootDesc.replace("/ctl/IPConn", "http://192.168.77.50/ctl/IPConn");
    expect(() => parseIgdDescription(away, "http://192.168.77.1:5000/rootDesc.xml")).toThrow(
      /another host/,
    );
    const port = rootDesc.replace("/ctl/IPConn", "http://192.168.77.1:49152/ctl/IPConn");
    expect(
      parseIgdDescription(port, "http://192.168.77.1:5000/rootDesc.xml").connections[0]?.controlUrl,
    ).toBe("http://192.168.77.1:49152/ctl/IPConn");
  });

  test("fuzz: random strings and mutated real descriptions", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .tuple(fc.nat(rootDesc.length), fc.nat(200), fc.string({ maxLength: 20 }))
            .map(([at, cut, ins]) => rootDesc.slice(0, at) + ins + rootDesc.slice(at + cut)),
        ),
        (xml) => total(() => parseIgdDescription(xml, "http://192.168.77.1:5000/rootDesc.xml")),
      ),
      { numRuns: 1500 },
    );
  });
});

describe("SOAP", () => {
  test("envelope escapes arguments and names the action in the service namespace", () => {
    const s = buildSoapEnvelope(
      "urn:schemas-upnp-org:service:WANIPConnection:2",
      "AddPortMapping",
      [
        ["NewPortMappingDescription", "a<b&c"],
        ["NewExternalPort", 80],
      ],
    );
    expect(s).toContain(
      '<u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:2">',
    );
    expect(s).toContain("<NewPortMappingDescription>a&lt;b&amp;c</NewPortMappingDescription>");
    expect(parseXml(s).name).toBe("Envelope");
  });

  test("miniupnpd's fault 714 becomes PortMapRefusedError with gatewayCode", () => {
    let err: unknown;
    try {
      parseSoapResponse(500, fault714, "GetSpecificPortMappingEntry");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PortMapRefusedError);
    expect((err as PortMapRefusedError).gatewayCode).toBe(714);
    expect((err as PortMapRefusedError).code).toBe("ERR_PORTMAP_REFUSED");
  });

  test("out-arguments of the response; HTTP errors without a fault are bad responses", () => {
    const ok = `<s:Envelope xmlns:s="x"><s:Body><u:GetExternalIPAddressResponse xmlns:u="y"><NewExternalIPAddress> 11.11.11.1 </NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>`;
    expect(parseSoapResponse(200, ok, "GetExternalIPAddress")).toEqual({
      NewExternalIPAddress: "11.11.11.1",
    });
    expect(() => parseSoapResponse(200, ok, "AddPortMapping")).toThrow(PortMapBadResponseError);
    expect(() => parseSoapResponse(404, "<html></html>", "AddPortMapping")).toThrow(
      PortMapBadResponseError,
    );
    expect(() => parseSoapResponse(200, "not xml", "AddPortMapping")).toThrow(
      PortMapBadResponseError,
    );
  });

  test("fuzz: mutated faults and random bodies", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc
            .tuple(fc.nat(fault714.length), fc.nat(40), fc.string({ maxLength: 10 }))
            .map(([at, cut, ins]) => fault714.slice(0, at) + ins + fault714.slice(at + cut)),
        ),
        (status, body) =>
          total(() => parseSoapResponse(status, body, "GetSpecificPortMappingEntry")),
      ),
      { numRuns: 1500 },
    );
  });
});

describe("default gateway from /proc/net/route", () => {
  const table = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
lan0\t004DA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
lan0\t00000000\t014DA8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
`;
  test("picks the lowest-metric default route, little-endian gateway", () => {
    expect(parseProcNetRoute(table).map((r) => r.gateway)).toEqual(["192.168.77.1", "192.168.1.1"]);
  });
  test("fuzz: arbitrary text never throws", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (t) => void parseProcNetRoute(`header\n${t}`)),
    );
  });
});

describe("default IPv6 gateway from /proc/net/ipv6_route", () => {
  const z = "0".repeat(32);
  const table = [
    `20010db8007700000000000000000000 40 ${z} 00 ${z} 00000100 00000001 00000000 00000001     lan0`,
    `${z} 00 ${z} 00 fe80000000000000021122fffe334455 00000400 00000001 00000000 00000003     wlan0`,
    `${z} 00 ${z} 00 20010db8007700000000000000000001 00000100 00000001 00000000 00000003     lan0`,
    `${z} 00 ${z} 00 ${z} ffffffff 00000001 00000000 00200200       lo`,
  ].join("\n");
  test("lowest metric first; a link-local next hop gets its interface as scope", () => {
    expect(parseProcNetIpv6Route(table).map((r) => r.gateway)).toEqual([
      "2001:db8:77::1",
      "fe80::211:22ff:fe33:4455%wlan0",
    ]);
  });
  test("fuzz: arbitrary text never throws", () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (t) => void parseProcNetIpv6Route(t)));
  });
});

describe("double NAT judgement", () => {
  test("private, CGNAT and loopback external addresses are not reachable", () => {
    expect(judgeExternal("192.168.1.10")).toEqual({ reachable: false, reason: "private" });
    expect(judgeExternal("100.64.3.2")).toEqual({ reachable: false, reason: "cgnat" });
    expect(judgeExternal("100.127.255.255").reason).toBe("cgnat");
    expect(judgeExternal("100.128.0.1").reachable).toBe(true);
    expect(judgeExternal("172.31.0.1").reason).toBe("private");
    expect(judgeExternal("172.32.0.1").reachable).toBe(true);
    expect(judgeExternal("0.0.0.0").reachable).toBe(false);
    expect(unreachableReason("fd77::2")).toBe("ula");
    expect(unreachableReason("2001:db8:11::2")).toBeUndefined();
  });
  test("an address observed from outside that differs means another NAT above the gateway", () => {
    expect(judgeExternal("11.11.11.1", "11.11.11.1")).toEqual({ reachable: true });
    expect(judgeExternal("11.11.11.1", "12.0.0.7")).toEqual({
      reachable: false,
      reason: "mismatch",
    });
  });
});
