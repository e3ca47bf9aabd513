import { describe, expect, test } from "vitest";
import { isPipeError, pipeOpen } from "../src/index.js";

describe("udp pipes", () => {
  test("await recv on UDP, server replies to the sender (v4)", async () => {
    const server = await pipeOpen("udp", { host: "127.0.0.1" });
    expect(server.remote).toBeUndefined();
    server.subscribe();
    const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);
    await client.send("ping");
    const m = await server.recvFull({ timeout: 2000 });
    expect(m.data.toString()).toBe("ping");
    expect(m.from).toEqual(client.local);
    await server.send("pong", m.from);
    expect((await client.recv({ timeout: 2000 })).toString()).toBe("pong");
    await client.close();
    await server.close();
  });

  test("IPv6 loopback with a destination given as a string", async () => {
    const server = await pipeOpen("udp", { host: "::1" }, undefined, { autoSubscribe: true });
    const client = await pipeOpen("udp", undefined, `[::1]:${server.local.port}`);
    expect(client.local.family).toBe(6);
    await client.send("six");
    const m = await server.recvFull();
    expect(m.data.toString()).toBe("six");
    expect(m.from.family).toBe(6);
    await client.close();
    await server.close();
  });

  test("oversized datagram is ERR_MSG_TOO_LARGE and nothing is sent", async () => {
    const a = await pipeOpen("udp", { host: "127.0.0.1" }, { host: "127.0.0.1", port: 9 });
    const err = await a.send(Buffer.alloc(65508)).catch((e) => e);
    expect(isPipeError(err, "ERR_MSG_TOO_LARGE")).toBe(true);
    await a.close();
  });

  test("IP literals are normalised: bracketed and long IPv6 forms bind and send", async () => {
    const server = await pipeOpen("udp", { host: "[::1]" }, undefined, { autoSubscribe: true });
    expect(server.local.host).toBe("::1");
    const client = await pipeOpen(
      "udp",
      { host: "0:0:0:0:0:0:0:1" },
      `[0::1]:${server.local.port}`,
    );
    expect(client.remote).toMatchObject({ host: "::1", family: 6 });
    await client.send("long form");
    expect((await server.recv()).toString()).toBe("long form");
    await Promise.all([client.close(), server.close()]);
  });
});
