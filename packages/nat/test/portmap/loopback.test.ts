// Failure paths that a healthy miniupnpd never produces, driven over loopback sockets:
// garbage answers, silence, refused ports, aborts, use after close.
import { createSocket } from "node:dgram";
import fc from "fast-check";
import { afterEach, describe, expect, test, vi } from "vitest";
import {
  createPortMapper,
  discoverIgd,
  PortMapClosedError,
  PortMapError,
} from "../../src/portmap/index.js";
import { closeResponders, natpmpResponder, responder } from "./udp-fixtures.js";

afterEach(closeResponders);

describe("port mapper failure paths on loopback", () => {
  test("nothing listening: ERR_PORTMAP_NO_GATEWAY at once (ICMP port unreachable)", async () => {
    // Port 1 (tcpmux) has no UDP listener here; an ephemeral port could be reused by a parallel test.
    const port = 1;
    const m = createPortMapper({
      gateway: "127.0.0.1",
      natpmpPort: port,
      methods: ["pcp", "natpmp"],
    });
    await expect(m.add({ port: 5000 })).rejects.toMatchObject({ code: "ERR_PORTMAP_NO_GATEWAY" });
    await m.close();
  });

  test("garbage answers: ERR_PORTMAP_BAD_RESPONSE from NAT-PMP and PCP", async () => {
    const port = await responder(() => Buffer.from([0, 7, 0, 0, 1, 2, 3]));
    for (const method of ["natpmp", "pcp"] as const) {
      const m = createPortMapper({ gateway: "127.0.0.1", natpmpPort: port, methods: [method] });
      await expect(m.add({ port: 5000, proto: "udp" })).rejects.toMatchObject({
        code: method === "pcp" ? "ERR_PORTMAP_UNSUPPORTED" : "ERR_PORTMAP_BAD_RESPONSE",
      });
      await m.close();
    }
    const bad = await responder(() => Buffer.from([9, 9, 9, 9]));
    const m = createPortMapper({ gateway: "127.0.0.1", natpmpPort: bad, methods: ["pcp"] });
    await expect(m.add({ port: 5000 })).rejects.toMatchObject({ code: "ERR_PORTMAP_BAD_RESPONSE" });
    await m.close();
  });

  test("silence: ERR_PORTMAP_TIMEOUT after the deadline, with retransmissions", async () => {
    let seen = 0;
    const port = await responder(() => {
      seen++;
      return undefined;
    });
    const m = createPortMapper({
      gateway: "127.0.0.1",
      natpmpPort: port,
      methods: ["natpmp"],
      timeoutMs: 900,
    });
    await expect(m.add({ port: 5000 })).rejects.toMatchObject({ code: "ERR_PORTMAP_TIMEOUT" });
    expect(seen).toBeGreaterThanOrEqual(2); // 250 ms, then 500 ms later
    await m.close();
  });

  test("the caller's abort wins over the deadline and surfaces its reason", async () => {
    const port = await responder();
    const m = createPortMapper({
      gateway: "127.0.0.1",
      natpmpPort: port,
      methods: ["natpmp"],
      timeoutMs: 30_000,
    });
    const ac = new AbortController();
    const p = m.add({ port: 5000, signal: ac.signal });
    setTimeout(() => ac.abort(new Error("stop")), 50);
    await expect(p).rejects.toThrow("stop");
    await m.close();
    await expect(m.add({ port: 5000 })).rejects.toBeInstanceOf(PortMapClosedError);
  });

  test("a request's abort does not wait for the shared UPnP discovery", async () => {
    // Nothing answers M-SEARCH on 127.0.0.1: discovery would run its full 30 s.
    const m = createPortMapper({
      gateway: "127.0.0.1",
      ssdpAddresses: ["127.0.0.1"],
      methods: ["upnp"],
      discoveryTimeoutMs: 30_000,
    });
    const ac = new AbortController();
    const p = m.add({ port: 5000, signal: ac.signal });
    setTimeout(() => ac.abort(new Error("user gave up")), 50);
    await expect(p).rejects.toThrow("user gave up");
    await m.close();
  });

  test("aborting the mapper's own signal closes it", async () => {
    const ac = new AbortController();
    const m = createPortMapper({ signal: ac.signal, gateway: "127.0.0.1", methods: ["natpmp"] });
    ac.abort();
    await expect(m.externalAddress()).rejects.toMatchObject({ code: "ERR_PORTMAP_CLOSED" });
  });

  test("an unusable gateway address is ERR_PORTMAP_NO_GATEWAY too, never a raw socket error", async () => {
    for (const gateway of ["fe80::1%no-such-if", "999.1.1.1"]) {
      const m = createPortMapper({ gateway, methods: ["pcp", "natpmp"], timeoutMs: 500 });
      await expect(m.add({ port: 5000 })).rejects.toMatchObject({ code: "ERR_PORTMAP_NO_GATEWAY" });
      await m.close();
    }
  });

  test("bad arguments are rejected before anything is sent (remove of port 0 would delete every NAT-PMP mapping)", async () => {
    const requests: Buffer[] = [];
    const port = await natpmpResponder("11.11.11.1", requests);
    const m = createPortMapper({ gateway: "127.0.0.1", natpmpPort: port, methods: ["natpmp"] });
    const bad = (p: Promise<unknown>, E: typeof RangeError | typeof TypeError) =>
      expect(p).rejects.toSatisfy(
        (e) => e instanceof E && (e as { code?: string }).code === "ERR_PORTMAP_BAD_ARGUMENT",
      );
    await bad(m.add({ port: 0 }), RangeError);
    await bad(m.add({ port: 70000 }), RangeError);
    await bad(m.add({ port: 5000, lifetime: 0 }), RangeError);
    await bad(m.add({ port: 5000, proto: "sctp" as "tcp" }), TypeError);
    await bad(m.remove({ port: 0 }), RangeError);
    await bad(m.remove({ port: 5000, externalPort: -1 }), RangeError);
    await bad(m.remove({ port: 5000, method: "pcp", handle: "xyz" }), TypeError);
    expect(requests).toEqual([]);
    await m.close();
  });

  test("a NAT-PMP gateway whose external address is CGNAT: reported, or DoubleNatError and deleted", async () => {
    const requests: Buffer[] = [];
    const port = await natpmpResponder("100.64.0.5", requests);
    const m = createPortMapper({ gateway: "127.0.0.1", natpmpPort: port, methods: ["natpmp"] });
    const got = await m.add({ port: 5000, proto: "udp", lifetime: 60 });
    expect(got).toMatchObject({
      method: "natpmp",
      external: { ip: "100.64.0.5", port: 5000 },
      reachable: false,
      reason: "cgnat",
    });
    await m.close();
    // close() deleted it: a map request with lifetime 0.
    expect(requests.some((r) => r[1] === 1 && r.readUInt32BE(8) === 0)).toBe(true);

    requests.length = 0;
    const strict = createPortMapper({
      gateway: "127.0.0.1",
      natpmpPort: port,
      methods: ["natpmp"],
      doubleNat: "throw",
    });
    await expect(strict.add({ port: 5001, proto: "tcp", lifetime: 60 })).rejects.toMatchObject({
      code: "ERR_DOUBLE_NAT",
      externalIp: "100.64.0.5",
    });
    expect(strict.list()).toEqual([]);
    expect(
      requests.some((r) => r[1] === 2 && r.readUInt16BE(4) === 5001 && r.readUInt32BE(8) === 0),
    ).toBe(true);
    await strict.close();
  });

  test("SSDP: an answer whose LOCATION points at another host is ignored; a good one is taken", async () => {
    const answer = (location: string) =>
      Buffer.from(
        `HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: ${location}\r\n\r\n`,
      );
    const evil = await responder(() => answer("http://192.0.2.1:5000/rootDesc.xml"));
    const lines: string[] = [];
    expect(
      await discoverIgd({
        addresses: ["127.0.0.1"],
        port: evil,
        timeoutMs: 400,
        log: (l) => lines.push(l),
      }),
    ).toBeUndefined();
    expect(lines.join("\n")).toContain("points elsewhere");
    const good = await responder(() => answer("http://127.0.0.1:5000/rootDesc.xml"));
    expect(
      await discoverIgd({ addresses: ["127.0.0.1"], port: good, timeoutMs: 2000 }),
    ).toMatchObject({
      location: "http://127.0.0.1:5000/rootDesc.xml",
    });
  });

  test("SSDP: M-SEARCH goes to every destination at once; a silent one does not delay the answer", async () => {
    const answer = Buffer.from(
      "HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:2\r\nLOCATION: http://127.0.0.3:5000/rootDesc.xml\r\n\r\n",
    );
    const good = createSocket("udp4");
    good.on("message", (_m, r) => good.send(answer, r.port, r.address));
    await new Promise<void>((r) => good.bind(0, "127.0.0.3", r));
    const port = good.address().port;
    const searches: string[] = [];
    const silent = createSocket("udp4");
    silent.on("message", (m) => searches.push(String(m)));
    await new Promise<void>((r) => silent.bind(port, "127.0.0.2", r));
    try {
      // A 30 s search: only an answer can end it within the test's 5 s.
      const found = await discoverIgd({
        addresses: ["127.0.0.2", "127.0.0.3"],
        port,
        timeoutMs: 30_000,
      });
      expect(found?.location).toBe("http://127.0.0.3:5000/rootDesc.xml");
      for (let i = 0; i < 20 && searches.length < 2; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(searches.map((s) => /\r\nST: (.*)\r\n/.exec(s)?.[1]).sort()).toEqual([
        "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
        "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
      ]);
    } finally {
      good.close();
      silent.close();
    }
  }, 5_000);

  test("SSDP: bounded; nobody answering resolves to undefined at the deadline", async () => {
    const port = await responder();
    expect(await discoverIgd({ addresses: ["127.0.0.1"], port, timeoutMs: 300 })).toBeUndefined();
  }, 5_000);

  test("quiet by default: failures and retries write nothing to stdout or stderr", async () => {
    const written: string[] = [];
    const capture = (chunk: unknown): boolean => {
      written.push(String(chunk));
      return true;
    };
    const spies = [
      vi.spyOn(process.stderr, "write").mockImplementation(capture),
      vi.spyOn(process.stdout, "write").mockImplementation(capture),
      ...(["log", "info", "warn", "error", "debug"] as const).map((k) =>
        vi.spyOn(console, k).mockImplementation((...a) => void written.push(a.join(" "))),
      ),
    ];
    try {
      const garbage = await responder(() => Buffer.from([0, 7, 0, 0]));
      const m = createPortMapper({
        gateway: "127.0.0.1",
        natpmpPort: garbage,
        ssdpAddresses: ["127.0.0.1"],
        discoveryTimeoutMs: 200,
        timeoutMs: 300,
      });
      await expect(m.add({ port: 5000 })).rejects.toMatchObject({ code: expect.any(String) });
      await m.close();
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect(written).toEqual([]);
    // ...while a given log hears about each step.
    const lines: string[] = [];
    const m = createPortMapper({
      gateway: "127.0.0.1",
      natpmpPort: 1,
      methods: ["natpmp"],
      log: (l) => lines.push(l),
    });
    await expect(m.add({ port: 5000 })).rejects.toMatchObject({ code: "ERR_PORTMAP_NO_GATEWAY" });
    await m.close();
    expect(lines.some((l) => l.startsWith("natpmp:"))).toBe(true);
  });

  test("a gateway that stops answering: renewals retried until the lease ends, then onChange 'lost'", async () => {
    let answering = true;
    const requests: Buffer[] = [];
    const port = await responder((req) => {
      requests.push(req);
      if (!answering) return undefined;
      if (req[1] === 0) return Buffer.from([0, 128, 0, 0, 0, 0, 0, 1, 11, 11, 11, 1]);
      const out = Buffer.alloc(16);
      out[1] = 128 + (req[1] ?? 0);
      out.writeUInt32BE(1, 4);
      req.copy(out, 8, 4, 8);
      out.writeUInt32BE(2, 12); // a 2 s lease, whatever was asked
      return out;
    });
    const events: { event: string; code?: string }[] = [];
    let onLost = (): void => {};
    const lost = new Promise<void>((resolve) => {
      onLost = resolve;
    });
    const m = createPortMapper({
      gateway: "127.0.0.1",
      natpmpPort: port,
      methods: ["natpmp"],
      timeoutMs: 300,
      onChange: (_m, event, error) => {
        events.push({ event, code: (error as { code?: string } | undefined)?.code });
        if (event === "lost") onLost();
      },
    });
    const got = await m.add({ port: 5004, proto: "udp", lifetime: 2 });
    expect(got.lifetime).toBe(2);
    answering = false;
    const sent = requests.length;
    await lost;
    expect(events).toEqual([{ event: "lost", code: "ERR_PORTMAP_TIMEOUT" }]);
    expect(requests.length).toBeGreaterThan(sent + 1); // more than one renewal attempt
    expect(m.list()).toEqual([]);
    await m.close();
  }, 15_000);

  test("fuzz: whatever a NAT-PMP/PCP server sends back, add() settles with a PortMapError", async () => {
    let answer = Buffer.alloc(0);
    const port = await responder(() => answer);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("natpmp" as const, "pcp" as const),
        fc.uint8Array({ maxLength: 80 }),
        fc.nat(3),
        async (method, bytes, head) => {
          // Often well-formed enough to get past the first checks: right version and opcode.
          answer = Buffer.from(bytes);
          if (head > 0 && answer.length >= 2) {
            answer[0] = method === "pcp" ? 2 : 0;
            answer[1] = method === "pcp" ? 0x81 : 0x82;
          }
          const m = createPortMapper({
            gateway: "127.0.0.1",
            natpmpPort: port,
            methods: [method],
            timeoutMs: 150,
          });
          try {
            const got = await m.add({ port: 5005, proto: "tcp", lifetime: 60 });
            expect(got.external.port).toBeGreaterThanOrEqual(0);
          } catch (e) {
            expect(e).toBeInstanceOf(PortMapError);
          } finally {
            await m.close({ removeMappings: false });
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 30_000);
});
