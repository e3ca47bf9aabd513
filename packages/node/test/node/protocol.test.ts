import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import type { Pipe } from "@p2pd/pipe";
import { afterEach, expect, test } from "vitest";
import { echo, wrapConnection } from "../../src/index.js";
import { NodeProtocol } from "../../src/node/protocol.js";

const open: Pipe[] = [];
afterEach(async () => {
  for (const p of open.splice(0)) await p.close();
});

/** Two node pipes over a real loopback TCP connection; `b` runs the node protocol. */
async function pair(protocol: NodeProtocol) {
  const srv = createServer().listen(0, "127.0.0.1");
  await once(srv, "listening");
  const accepted = once(srv, "connection");
  const raw = connect((srv.address() as { port: number }).port, "127.0.0.1");
  await once(raw, "connect");
  const [sock] = (await accepted) as [Socket];
  srv.close();
  const a = wrapConnection(raw);
  const b = wrapConnection(sock);
  protocol.attach(b);
  open.push(a, b);
  return { a, b };
}

const ID = "0123456789abcdef0123456789abcdef";

test("ECHO is answered and consumed; other messages pass", async () => {
  // (the verbs never reach the pipe's own subscribers: one ECHO, then one plain message)
  const proto = new NodeProtocol(() => {});
  const { a, b } = await pair(proto);
  expect((await echo(a, "hi")).toString()).toBe("hi");
  await a.send("plain");
  expect((await b.recv()).toString()).toBe("plain");
});

test("ID hands the pipe to the connect waiting for it", async () => {
  const proto = new NodeProtocol(() => {
    throw new Error("not adopted");
  });
  const { a, b } = await pair(proto);
  const got = proto.waitInbound(ID, AbortSignal.timeout(2000));
  await a.send(`ID ${ID}`);
  expect(await got).toBe(b);
  expect(proto.idOf(b)).toBe(ID);
});

test("ID of nobody's attempt is adopted; of an abandoned one, closed", async () => {
  const adopted: Pipe[] = [];
  const proto = new NodeProtocol((p) => adopted.push(p));
  const one = await pair(proto);
  await one.a.send(`ID ${ID}`);
  await expect.poll(() => adopted.length).toBe(1);
  const other = "f".repeat(32);
  proto.cancel(other);
  const two = await pair(proto);
  await two.a.send(`ID ${other}`);
  await expect.poll(() => two.b.isOpen).toBe(false);
  expect(adopted.length).toBe(1);
});

test("a malformed ID is consumed and ignored", async () => {
  const adopted: Pipe[] = [];
  const proto = new NodeProtocol((p) => adopted.push(p));
  const { a, b } = await pair(proto);
  await a.send(`ID ${"Z".repeat(32)}`);
  await a.send("after");
  expect((await b.recv()).toString()).toBe("after");
  expect(proto.idOf(b)).toBeUndefined();
  expect(adopted).toEqual([]);
});
