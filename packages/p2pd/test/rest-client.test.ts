import { NotFoundError } from "@p2pd/ircdns";
import { MemoryNaming, type NamingProvider, type P2PNode, startNode } from "@p2pd/node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { P2pdClient, P2pdClientError } from "../src/index.js";
import { buildOpenApi, RestServer, ROUTES } from "../src/rest/index.js";

// The typed client against the real server, one call per route, and the OpenAPI document
// checked for structure (what a code generator would trip on).
let node: P2PNode;
let server: RestServer;
let api: P2pdClient;
const naming = new MemoryNaming();

beforeAll(async () => {
  node = await startNode({ interfaces: "loopback", seed: "rest-client", naming });
  // A name that holds the node's own address: what `p2pd name register --value ADDR` stores.
  await naming.register("rest-client.test", node.address);
  server = await RestServer.start({ node, port: 0, token: "tok-123" });
  api = new P2pdClient({ url: server.url, token: "tok-123" });
});

afterAll(async () => {
  await server?.close();
  await node?.close();
});

/** Every client method, so the test below can prove each route has one. */
const CALLS: Record<string, string> = {
  version: "version",
  ifs: "ifs",
  addr: "addr",
  cons: "cons",
  open: "open",
  info: "info",
  subscribe: "subscribe",
  unsubscribe: "unsubscribe",
  send: "send",
  recv: "recv",
  sendBinary: "sendBinary",
  recvBinary: "recvBinary",
  close: "close",
  tunnel: "tunnel",
  openapi: "openapi",
};

describe("typed client against the real server", () => {
  test("every route but the dashboard has a client method", () => {
    for (const r of ROUTES.filter((r) => r.id !== "dashboard")) {
      expect(typeof (api as unknown as Record<string, unknown>)[CALLS[r.id] ?? r.id], r.id).toBe(
        "function",
      );
    }
  });

  test("read-only routes", async () => {
    expect(await api.version()).toMatchObject({ title: "p2pd", version: expect.any(String) });
    expect((await api.ifs()).ifs[0]).toMatchObject({ name: "lo", ipv4: "127.0.0.1" });
    expect(await api.addr()).toEqual({ addr: node.address, nodeId: node.nodeId, port: node.port });
    expect((await api.cons()).cons).toEqual([]);
    expect((await api.openapi()).openapi).toBe("3.1.0");
  });

  test("open, info, subscribe, send, recv, binary, unsubscribe, close", async () => {
    const con = await api.open("k1", "self", { strategies: ["direct"] });
    expect(con).toMatchObject({ name: "k1", strategy: "direct", relayed: false });
    expect((await api.info("k1")).subs).toEqual([
      { msg: "", addr: "", queued: 0, dropped: 0, waiting: 0 },
    ]);
    expect(await api.subscribe("k1", { msg: "^two", addr: "^(127\\.0\\.0\\.1|::1):" })).toEqual({
      name: "k1",
      sub: { msg: "^two", addr: "^(127\\.0\\.0\\.1|::1):" },
    });
    await api.send("k1", "ECHO one");
    await api.send("k1", "ECHO two");
    expect(
      (await api.recv("k1", { msg: "^two", addr: "^(127\\.0\\.0\\.1|::1):", timeout: 5 })).data,
    ).toBe("two");
    expect((await api.recv("k1", { timeout: 5 })).data).toBe("one");
    expect((await api.recv("k1", { timeout: 5 })).from?.ip).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(await api.unsubscribe("k1", { msg: "^two", addr: "^(127\\.0\\.0\\.1|::1):" })).toEqual({
      name: "k1",
      unsub: { msg: "^two", addr: "^(127\\.0\\.0\\.1|::1):" },
    });
    await expect(api.unsubscribe("k1", { msg: "^two" })).rejects.toMatchObject({
      code: "ERR_NOT_SUBSCRIBED",
      status: 404,
    });
    const bytes = Uint8Array.from([0x45, 0x43, 0x48, 0x4f, 0x20, 0, 10, 13, 255]);
    expect(await api.sendBinary("k1", bytes)).toEqual({ name: "k1", sent: bytes.length });
    const got = await api.recvBinary("k1", { timeout: 5 });
    expect([...got.data]).toEqual([0, 10, 13, 255]);
    expect(got.from).toMatch(/^(127\.0\.0\.1|::1):\d+$/);
    // Texts that URL parsers would collapse as dot segments still arrive.
    expect(await api.send("k1", "..")).toMatchObject({ sent: 2, sentChars: 2 });
    await api.send("k1", "ECHO ./..");
    expect((await api.recv("k1", { timeout: 5 })).data).toBe("./..");
    expect(await api.close("k1")).toEqual({ closed: "k1" });
    expect((await api.cons()).cons).toEqual([]);
  });

  test("open by P2P address and by name, and errors for unknown ones", async () => {
    const byAddr = await api.open("a1", node.address, { strategies: ["direct"] });
    const byName = await api.open("n1", "rest-client.test", { strategies: ["direct"] });
    expect([byAddr.strategy, byName.strategy]).toEqual(["direct", "direct"]);
    await api.send("n1", "ECHO named");
    expect((await api.recv("n1", { timeout: 5 })).data).toBe("named");
    await expect(api.open("n2", "nobody.test")).rejects.toMatchObject({
      code: "ERR_NAME_NOT_FOUND",
      status: 404,
    });
    // Address-shaped (four or five parts), but not a valid address: 400, not a name lookup.
    await expect(api.open("n3", "0,1-[garbage]-0-zz-zz")).rejects.toMatchObject({
      code: "ERR_BAD_ADDRESS",
      status: 400,
    });
    await api.close("a1");
    await api.close("n1");
  });

  test("a name IRCDNS does not know is a 404 with IRCDNS's code (statuses come from httpStatusFor)", async () => {
    // The IRC networks themselves are the ircdns lab's business: here, IRCDNS's own error as its
    // lookup raises it, through a real node and the real server.
    const irc: NamingProvider = {
      register: async (name) => name,
      lookup: async (name) => {
        throw new NotFoundError(`no record for "${name}"`);
      },
    };
    const named = await startNode({ interfaces: "loopback", seed: "rest-client-irc", naming: irc });
    const s = await RestServer.start({ node: named, port: 0 });
    try {
      await expect(new P2pdClient({ url: s.url }).open("i1", "nobody.irc")).rejects.toMatchObject({
        code: "ERR_IRCDNS_NOT_FOUND",
        status: 404,
      });
    } finally {
      await s.close();
      await named.close();
    }
  });

  test("tunnel returns a socket relayed to the peer; errors are typed", async () => {
    await api.open("k2", "self", { strategies: ["direct"] });
    const sock = await api.tunnel("k2");
    expect((await api.info("k2")).relayed).toBe(true);
    const echoed = new Promise<string>((resolve) => {
      let got = "";
      sock.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.includes("tunnelled")) resolve(got);
      });
    });
    sock.write("ECHO tunnelled");
    expect(await echoed).toBe("tunnelled");
    await expect(api.tunnel("k2")).rejects.toMatchObject({ code: "ERR_RELAY_BUSY", status: 409 });
    await expect(api.tunnel("none")).rejects.toMatchObject({
      code: "ERR_NO_SUCH_CONNECTION",
      status: 404,
    });
    await expect(new P2pdClient({ url: server.url }).tunnel("k2")).rejects.toMatchObject({
      code: "ERR_UNAUTHORIZED",
      status: 401,
    });
    const ended = new Promise((r) => sock.once("close", r));
    await api.close("k2");
    await ended;
  });

  test("a wrong token is a typed 401 on every JSON route", async () => {
    const bad = new P2pdClient({ url: server.url, token: "nope" });
    const e = await bad.addr().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(P2pdClientError);
    expect(e).toMatchObject({ code: "ERR_UNAUTHORIZED", status: 401 });
  });
});

interface Op {
  operationId: string;
  parameters: { name: string; in: string; required: boolean; schema: unknown }[];
  responses: Record<string, { description: string }>;
}

describe("OpenAPI document structure", () => {
  const doc = buildOpenApi() as {
    openapi: string;
    info: { title: string; version: string };
    paths: Record<string, Record<string, Op>>;
  };

  test("operationIds are unique and cover every route", () => {
    const ids = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).map((o) => o.operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(ROUTES.map((r) => r.id).sort());
  });

  test("every path template parameter is declared once, required, in path; no undeclared ones", () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      const inTemplate = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(ops)) {
        expect(["get", "post", "delete"]).toContain(method);
        const pathParams = op.parameters.filter((p) => p.in === "path");
        expect(pathParams.map((p) => p.name).sort(), `${method} ${path}`).toEqual(
          [...inTemplate].sort(),
        );
        for (const p of pathParams) expect(p.required).toBe(true);
        const keys = op.parameters.map((p) => `${p.in}:${p.name}`);
        expect(new Set(keys).size).toBe(keys.length);
        for (const p of op.parameters) {
          expect(["path", "query"]).toContain(p.in);
          expect(p.schema).toBeTypeOf("object");
        }
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        for (const [code, r] of Object.entries(op.responses)) {
          expect(code).toMatch(/^([1-5]\d\d|default)$/);
          expect(r.description.length).toBeGreaterThan(0);
        }
      }
    }
  });

  test("the served document equals the generated one and carries the package version", async () => {
    expect(await api.openapi()).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(doc.info.version).toBe((await api.version()).version);
  });
});
