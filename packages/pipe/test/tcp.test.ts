import { createServer } from "node:net";
import { describe, expect, test } from "vitest";
import { isPipeError, type Message, pipeOpen, type TcpPipe } from "../src/index.js";

describe("tcp pipes", () => {
  test("client ↔ server child: a message sent is a message received (u32 framing)", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" });
    try {
      expect(server.kind).toBe("tcp-server");
      expect(server.local.port).toBeGreaterThan(0);
      const client = await pipeOpen("tcp", undefined, server.local);
      const child = await server.accept({ timeout: 2000 });
      expect(child.kind).toBe("tcp-child");
      expect(child.remote.port).toBe(client.local.port);
      // Back-to-back writes coalesce on the wire; framing keeps them apart.
      await client.send("one");
      await client.send(new Uint8Array([0, 1, 2]));
      await client.send("");
      await client.send("three");
      expect((await child.recv()).toString()).toBe("one");
      expect([...(await child.recv())]).toEqual([0, 1, 2]);
      expect((await child.recv()).length).toBe(0);
      expect((await child.recv()).toString()).toBe("three");
      await child.send("pong");
      const full = await client.recvFull();
      expect(full.data.toString()).toBe("pong");
      expect(full.from).toEqual(server.local);
      await client.close();
    } finally {
      await server.close();
    }
  });

  test("server message callback echoes through msg.pipe (P2PD example_5)", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, {
      onMessage: (m: Message) => m.pipe.send(m.data, m.from),
    });
    const client = await pipeOpen("tcp", { host: "127.0.0.1" }, server.local);
    await client.send("test msg.");
    expect((await client.recv()).toString()).toBe("test msg.");
    await client.close();
    await server.close();
  });

  test("IPv6 loopback", async () => {
    const server = await pipeOpen("tcp", { host: "::1" });
    expect(server.local).toMatchObject({ host: "::1", family: 6 });
    const client = await pipeOpen("tcp", undefined, { host: "::1", port: server.local.port });
    const child = (await server.accept()) as TcpPipe;
    await client.send("v6");
    expect((await child.recv()).toString()).toBe("v6");
    await server.close();
    await client.close();
  });

  test("connect refused is ERR_CONNECT", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" });
    const port = server.local.port;
    await server.close();
    const err = await pipeOpen("tcp", undefined, { host: "127.0.0.1", port }).catch((e) => e);
    expect(isPipeError(err, "ERR_CONNECT")).toBe(true);
  });

  test("host names are resolved (node:dns, /etc/hosts here) in the route's family", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" });
    const client = await pipeOpen(
      "tcp",
      { family: 4 },
      { host: "localhost", port: server.local.port },
    );
    expect(client.remote).toMatchObject({ host: "127.0.0.1", family: 4 });
    await client.close();
    await server.close();
  });

  test("line and chunk framing interoperate with a plain socket", async () => {
    const raw = createServer((s) => {
      s.setEncoding("latin1");
      let buf = "";
      s.on("data", (d: string) => {
        buf += d;
        if (buf.endsWith("two\n")) s.end(`${buf.toUpperCase()}tail without newline`);
      });
    });
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
    const port = (raw.address() as { port: number }).port;
    // line: the separator is added on send and removed on receive; a partial last line is held.
    const lines = await pipeOpen(
      "tcp",
      undefined,
      { host: "127.0.0.1", port },
      { framing: "line" },
    );
    await lines.send("one");
    await lines.send("two");
    expect((await lines.recv()).toString()).toBe("ONE");
    expect((await lines.recv()).toString()).toBe("TWO");
    const none = await lines.recv({ timeout: 50 }).catch((e) => e);
    expect(isPipeError(none, "ERR_RECV_TIMEOUT") || isPipeError(none, "ERR_CLOSED")).toBe(true);
    expect(lines.bufferedBytes).toBe("tail without newline".length);
    await lines.close();
    // chunk: bytes pass through untouched; reads may split or merge, the bytes are the same.
    const chunks = await pipeOpen(
      "tcp",
      undefined,
      { host: "127.0.0.1", port },
      { framing: "chunk" },
    );
    await chunks.send("one\n");
    await chunks.send("two\n");
    let got = "";
    while (!got.endsWith("newline")) got += (await chunks.recv()).toString("latin1");
    expect(got).toBe("ONE\nTWO\ntail without newline");
    await chunks.close();
    await new Promise((r) => raw.close(r));
  });
});
