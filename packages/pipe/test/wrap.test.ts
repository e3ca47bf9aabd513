import { createSocket } from "node:dgram";
import { connect, Socket } from "node:net";
import { describe, expect, test } from "vitest";
import { isPipeError, pipeOpen, wrapSocket, wrapUdpSocket } from "../src/index.js";

describe("wrapSocket", () => {
  test("a connected net.Socket becomes a TCP pipe that frames like any other", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" });
    const sock = connect({ host: "127.0.0.1", port: server.local.port });
    await new Promise<void>((r) => sock.once("connect", () => r()));
    const pipe = wrapSocket(sock);
    expect(pipe.kind).toBe("tcp-client");
    expect(pipe.remote).toEqual(server.local);
    const child = await server.accept();
    await pipe.send("wrapped");
    expect((await child.recv()).toString()).toBe("wrapped");
    await child.send("back");
    expect((await pipe.recv()).toString()).toBe("back");
    await pipe.close();
    expect(sock.destroyed).toBe(true);
    await server.close();
  });

  test("a bound dgram socket becomes a UDP pipe with an optional default destination", async () => {
    const server = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
      onMessage: (m) => m.pipe.send(m.data, m.from),
    });
    const s = createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
    const pipe = await wrapUdpSocket(s, `127.0.0.1:${server.local.port}`);
    await pipe.send("udp wrapped");
    expect((await pipe.recv()).toString()).toBe("udp wrapped");
    await pipe.close();
    await server.close();
  });

  test("unconnected or unbound sockets are ERR_BAD_ARGUMENT", () => {
    const tcp = new Socket();
    expect(() => wrapSocket(tcp)).toThrow(expect.objectContaining({ code: "ERR_BAD_ARGUMENT" }));
    const udp = createSocket("udp4");
    let err: unknown;
    try {
      wrapSocket(udp);
    } catch (e) {
      err = e;
    }
    expect(isPipeError(err, "ERR_BAD_ARGUMENT")).toBe(true);
    udp.close();
    tcp.destroy();
  });
});
