import { describe, expect, test } from "vitest";
import { isPipeError, pipeOpen } from "../src/index.js";
import { code, handles, settle, tcpPortFree, timers, udpPortFree } from "./helpers.js";

describe("bad input gives typed errors and leaves nothing open", () => {
  test("every failure has a stable code, and the handle count returns to where it was", async () => {
    await settle();
    const before = handles();
    const timersBefore = timers();
    const busy = await pipeOpen("tcp", { host: "127.0.0.1" });
    const busyUdp = await pipeOpen("udp", { host: "127.0.0.1" });
    const closedPort = await (async () => {
      const p = await pipeOpen("tcp", { host: "127.0.0.1" });
      const port = p.local.port;
      await p.close();
      return port;
    })();

    expect(await code(pipeOpen("tcp", { host: "127.0.0.1", port: 70000 }))).toBe("ERR_BAD_PORT");
    expect(await code(pipeOpen("udp", { host: "127.0.0.1", port: -1 }))).toBe("ERR_BAD_PORT");
    expect(await code(pipeOpen("tcp", undefined, { host: "127.0.0.1", port: 0 }))).toBe(
      "ERR_BAD_PORT",
    );
    expect(await code(pipeOpen("tcp", undefined, { host: "127.0.0.1", port: 1.5 }))).toBe(
      "ERR_BAD_PORT",
    );
    expect(await code(pipeOpen("tcp", undefined, { host: "no such host!", port: 80 }))).toBe(
      "ERR_BAD_HOST",
    );
    expect(await code(pipeOpen("udp", undefined, "missing-port"))).toBe("ERR_BAD_HOST");
    // RFC 6761: ".invalid" never resolves, so no DNS query leaves the machine.
    expect(await code(pipeOpen("tcp", undefined, { host: "nowhere.invalid", port: 80 }))).toBe(
      "ERR_RESOLVE",
    );
    expect(await code(pipeOpen("sctp" as "tcp"))).toBe("ERR_BAD_ARGUMENT");
    expect(await code(pipeOpen("tcp", { host: "127.0.0.1", port: busy.local.port }))).toBe(
      "ERR_BIND",
    );
    expect(await code(pipeOpen("udp", { host: "127.0.0.1", port: busyUdp.local.port }))).toBe(
      "ERR_BIND",
    );
    expect(
      await code(
        pipeOpen(
          "tcp",
          { host: "127.0.0.1", port: busy.local.port },
          { host: "127.0.0.1", port: closedPort },
        ),
      ),
    ).toBe("ERR_BIND");
    expect(await code(pipeOpen("tcp", { host: "192.0.2.77" }))).toBe("ERR_BIND"); // not a local address
    expect(await code(pipeOpen("tcp", undefined, { host: "127.0.0.1", port: closedPort }))).toBe(
      "ERR_CONNECT",
    );
    expect(await code(pipeOpen("tcp", { host: "::1" }, { host: "127.0.0.1", port: 80 }))).toBe(
      "ERR_FAMILY",
    );
    expect(
      await code(
        pipeOpen(
          "tcp",
          undefined,
          { host: "127.0.0.1", port: 80 },
          { signal: AbortSignal.abort() },
        ),
      ),
    ).toBe("ERR_ABORTED");
    const ac = new AbortController();
    const slow = pipeOpen(
      "tcp",
      undefined,
      { host: "localhost", port: busy.local.port },
      { signal: ac.signal },
    );
    ac.abort();
    expect(["ERR_ABORTED", "no error"]).toContain(await code(slow.then((p) => p.close())));
    expect(
      await code(
        pipeOpen("tcp", undefined, { host: "127.0.0.1", port: 9 }, { connectTimeoutMs: -1 }),
      ),
    ).toBe("ERR_BAD_ARGUMENT");

    const client = await pipeOpen("tcp", undefined, busy.local, { maxMessageBytes: 10 });
    expect(await code(client.send(Buffer.alloc(11)))).toBe("ERR_MSG_TOO_LARGE");
    expect(await code(busyUdp.send(Buffer.alloc(70000), { host: "127.0.0.1", port: 9 }))).toBe(
      "ERR_MSG_TOO_LARGE",
    );
    expect(await code(busyUdp.send("x"))).toBe("ERR_NO_DEST");
    expect(await code(busyUdp.send("x", { host: "::1", port: 9 }))).toBe("ERR_FAMILY");
    expect(await code(busyUdp.send("x", { host: "127.0.0.1", port: 0 }))).toBe("ERR_BAD_PORT");
    expect(await code(busyUdp.send(42 as unknown as string, { host: "127.0.0.1", port: 9 }))).toBe(
      "ERR_BAD_ARGUMENT",
    );
    await client.close();
    await client.close(); // idempotent
    expect(await code(client.send("x"))).toBe("ERR_CLOSED");
    expect(await code(client.recv())).toBe("ERR_CLOSED");

    const busyPorts = { tcp: busy.local.port, udp: busyUdp.local.port };
    await busy.close();
    await busyUdp.close();
    // Let the event loop retire closed handles before counting.
    await settle();
    expect(handles()).toBe(before);
    expect(timers()).toBeLessThanOrEqual(timersBefore);
    expect(await tcpPortFree("127.0.0.1", busyPorts.tcp)).toBe(true);
    expect(await udpPortFree(busyPorts.udp)).toBe(true);
  });

  test("bad options fail at open with ERR_BAD_ARGUMENT, never later inside a connection", async () => {
    const bad: Array<[string, object]> = [
      ["tcp", { framing: "bogus" }],
      ["tcp", { framing: { decode: 1 } }],
      ["tcp", { tls: "yes" }],
      ["tcp", { onConnection: 5 }],
      ["udp", { onMessage: "x" }],
      ["udp", { recvBufferSize: -1 }],
      ["udp", { sendBufferSize: 1.5 }],
      ["tcp", { connectTimeoutMs: 2 ** 40 }],
      ["udp", { recvTimeoutMs: Number.NaN }],
    ];
    for (const [proto, opts] of bad) {
      expect(
        await code(pipeOpen(proto as "tcp", { host: "127.0.0.1" }, undefined, opts)),
        JSON.stringify(opts),
      ).toBe("ERR_BAD_ARGUMENT");
    }
  });

  test("closing a server with connected clients frees every socket and its port", async () => {
    await settle();
    const before = handles();
    const server = await pipeOpen("tcp", { host: "127.0.0.1" });
    const port = server.local.port;
    const clients = await Promise.all(
      [1, 2, 3].map(() => pipeOpen("tcp", undefined, server.local)),
    );
    for (let i = 0; i < 3; i++) await server.accept();
    const pending = clients[0]?.recv({ timeout: 60_000 }).catch((e) => e);
    await server.close();
    await Promise.all(clients.map((c) => c.close()));
    expect(isPipeError(await pending, "ERR_CLOSED")).toBe(true);
    await settle();
    expect(handles()).toBe(before);
    expect(await tcpPortFree("127.0.0.1", port)).toBe(true);
  });

  test("close({reset: true}) sends RST; the peer sees its pipe end", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" });
    const client = await pipeOpen("tcp", undefined, server.local);
    const child = await server.accept();
    const ended = new Promise<void>((r) => child.onEnd(() => r()));
    await client.close({ reset: true });
    await ended;
    expect(child.isOpen).toBe(false);
    await server.close();
  });
});
