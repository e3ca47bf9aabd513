// close() leaves nothing behind: every socket and timer the mapper opened (UPnP discovery still
// searching, renewal timers, NAT-PMP exchanges) is gone once close() resolves. Tracked with
// async_hooks, keeping only the resources created from the portmap sources.
import { createHook } from "node:async_hooks";
import { afterEach, describe, expect, test } from "vitest";
import { createPortMapper } from "../../src/portmap/index.js";
import { closeResponders, natpmpResponder, responder } from "./udp-fixtures.js";

afterEach(closeResponders);

const KINDS = new Set(["UDPWRAP", "TCPWRAP", "TCPCONNECTWRAP", "Timeout"]);

/** Live sockets and timers created by src/portmap code, by async id -> "TYPE at file". */
function track(): { live: Map<number, string>; stop(): void } {
  const live = new Map<number, string>();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const hook = createHook({
    init(id, type) {
      if (!KINDS.has(type)) return;
      const from = new Error().stack?.split("\n").find((l) => l.includes("/src/portmap/"));
      if (from) live.set(id, `${type} ${from.trim()}`);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return {
    live,
    stop() {
      hook.disable();
      Error.stackTraceLimit = limit;
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe("resources", () => {
  test("UPnP discovery runs in the background, add() does not wait for it; close() releases every socket and timer", async () => {
    const t = track();
    try {
      const port = await natpmpResponder("11.11.11.1");
      // An SSDP "group" that never answers, searched for a minute: discovery stays in flight.
      const ssdp = await responder();
      const m = createPortMapper({
        gateway: "127.0.0.1",
        natpmpPort: port,
        methods: ["natpmp", "upnp"],
        ssdpAddresses: ["127.0.0.1"],
        discoveryTimeoutMs: 60_000,
      });
      void ssdp;
      const got = await m.add({ port: 5000, proto: "udp", lifetime: 600 });
      expect(got.method).toBe("natpmp");
      await settle();
      const before = [...t.live.values()];
      // The SSDP socket and its deadline, and the renewal timer, are live while the mapper is.
      expect(before.some((l) => l.startsWith("UDPWRAP") && l.includes("ssdp."))).toBe(true);
      expect(before.some((l) => l.startsWith("Timeout") && l.includes("lease."))).toBe(true);
      await m.close();
      await settle();
      expect([...t.live.values()]).toEqual([]);
    } finally {
      t.stop();
    }
  }, 20_000);

  test("close() during a pending request releases its socket, timers and the deletions' deadline", async () => {
    const t = track();
    try {
      const silent = await responder();
      const m = createPortMapper({
        gateway: "127.0.0.1",
        natpmpPort: silent,
        methods: ["pcp"],
        timeoutMs: 60_000,
      });
      const pending = m.add({ port: 5001, proto: "tcp" });
      await settle();
      expect([...t.live.values()].some((l) => l.startsWith("UDPWRAP"))).toBe(true);
      await m.close();
      await expect(pending).rejects.toMatchObject({ code: "ERR_PORTMAP_CLOSED" });
      await settle();
      expect([...t.live.values()]).toEqual([]);
    } finally {
      t.stop();
    }
  }, 20_000);

  test("an add() in flight when close() begins is aborted, not granted to a closed mapper", async () => {
    // Deletions are slow (500 ms), maps instant: without care, the second add() would complete
    // while close() deletes the first mapping, and be left on the gateway.
    const requests: Buffer[] = [];
    const grant = await natpmpResponder("11.11.11.1", requests, 500);
    const m = createPortMapper({ gateway: "127.0.0.1", natpmpPort: grant, methods: ["natpmp"] });
    await m.add({ port: 5002, proto: "udp", lifetime: 600 });
    const late = m.add({ port: 5003, proto: "udp", lifetime: 600 });
    const closing = m.close();
    await expect(late).rejects.toMatchObject({ code: "ERR_PORTMAP_CLOSED" });
    await closing;
    expect(m.list()).toEqual([]);
    // 5003 was either never asked for, or deleted again.
    const asked = requests.filter((r) => r[1] === 1 && r.readUInt16BE(4) === 5003);
    if (asked.some((r) => r.readUInt32BE(8) > 0))
      expect(asked.some((r) => r.readUInt32BE(8) === 0)).toBe(true);
  }, 20_000);
});
