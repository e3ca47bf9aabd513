import { createServer } from "node:net";
import { describe, expect, test } from "vitest";
import {
  getExternalAddress,
  getMappedAddress,
  resolveServer,
  StunClient,
  StunMessage,
  StunServer,
} from "../src/index.js";
import { udpSink } from "./helpers.js";

// An already-aborted signal must give the package's typed error (code ERR_STUN_ABORTED / _TIMEOUT),
// never the bare DOMException that AbortSignal.throwIfAborted() would throw, and must open nothing.
describe("a signal aborted before the call", () => {
  const aborted = () => AbortSignal.abort();
  const timedOut = () => AbortSignal.abort(new DOMException("t", "TimeoutError"));

  test("every async entry point rejects with a StunError", async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ["getMappedAddress", () => getMappedAddress("127.0.0.1:9", { signal: aborted() })],
      [
        "getMappedAddress tcp",
        () => getMappedAddress("127.0.0.1:9", { protocol: "tcp", signal: aborted() }),
      ],
      [
        "getExternalAddress",
        () => getExternalAddress(["127.0.0.1:9", "127.0.0.2:9"], { signal: aborted() }),
      ],
      ["resolveServer (name)", () => resolveServer("localhost:9", { signal: aborted() })],
      ["StunClient.udp", () => StunClient.udp({ signal: aborted() })],
      ["StunClient.tcp", () => StunClient.tcp("127.0.0.1:9", { signal: aborted() })],
      [
        "StunServer.listen",
        () => new StunServer({ ips: ["127.0.0.1"], port: 0 }).listen({ signal: aborted() }),
      ],
    ];
    for (const [name, call] of calls) {
      const err = await call().then(
        () => "resolved",
        (e: unknown) => e,
      );
      expect(err, name).toMatchObject({ name: "StunError", code: "ERR_STUN_ABORTED" });
    }
    await expect(getMappedAddress("127.0.0.1:9", { signal: timedOut() })).rejects.toMatchObject({
      name: "StunError",
      code: "ERR_STUN_TIMEOUT",
    });
  });

  test("client.request / binding / indicate on an open client", async () => {
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    try {
      for (const call of [
        () => c.request("127.0.0.1:9", { signal: aborted() }),
        () => c.binding("127.0.0.1:9", { signal: aborted() }),
        () =>
          c.indicate("127.0.0.1:9", new StunMessage({ cls: "indication" }), { signal: aborted() }),
      ]) {
        await expect(call()).rejects.toMatchObject({ name: "StunError", code: "ERR_STUN_ABORTED" });
      }
    } finally {
      c.close();
    }
  });
});

describe("a signal aborted mid-flight", () => {
  test("UDP, TCP and multi-server transactions stop with ERR_STUN_ABORTED", async () => {
    const sink = await udpSink();
    // A TCP server that accepts and never answers.
    const mute = createServer(() => {});
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
    const deadUdp = { host: "127.0.0.1", port: sink.address().port };
    const deadTcp = { host: "127.0.0.1", port: (mute.address() as { port: number }).port };
    try {
      const calls: [string, (signal: AbortSignal) => Promise<unknown>][] = [
        ["getMappedAddress udp", (signal) => getMappedAddress(deadUdp, { signal })],
        [
          "getMappedAddress tcp",
          (signal) => getMappedAddress(deadTcp, { protocol: "tcp", signal }),
        ],
        ["getExternalAddress", (signal) => getExternalAddress([deadUdp, deadUdp], { signal })],
      ];
      for (const [name, call] of calls) {
        const ac = new AbortController();
        const p = call(ac.signal).then(
          () => "resolved",
          (e: unknown) => e,
        );
        setTimeout(() => ac.abort(), 30);
        expect(await p, name).toMatchObject({ name: "StunError", code: "ERR_STUN_ABORTED" });
      }
    } finally {
      sink.close();
      mute.close();
    }
  });
});
