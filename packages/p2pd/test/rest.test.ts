import { connect } from "node:net";
import { type P2PNode, startNode } from "@p2pd/node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { P2pdClient, P2pdClientError } from "../src/index.js";
import { buildOpenApi, RestServer, ROUTES } from "../src/rest/index.js";

let node: P2PNode;
let server: RestServer;
let client: P2pdClient;

/** Sends raw bytes and returns the raw answer: the tests need what fetch would refuse to send. */
function raw(
  port: number,
  request: string | Buffer,
  opts: { waitMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    s.on("data", (d) => (out += d.toString("latin1")));
    s.on("error", reject);
    s.on("close", () => resolve(out));
    s.write(request);
    if (opts.waitMs) setTimeout(() => s.destroy(), opts.waitMs);
  });
}
/** One request to the server: `GET /path`, then header lines; the whole answer. */
const ask = (line: string, ...headers: string[]) =>
  raw(server.port, `${line} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`);
const statusOf = (answer: string) => Number(answer.split(" ")[1]);
const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));

beforeAll(async () => {
  node = await startNode({ interfaces: "loopback", seed: "rest-test" });
  server = await RestServer.start({ node: node as never, port: 0, requestTimeoutMs: 500 });
  client = new P2pdClient({ url: server.url });
});

afterAll(async () => {
  await server?.close();
  await node?.close();
});

describe("REST API against a real node", () => {
  test("version, addr and ifs", async () => {
    expect((await client.version()).title).toBe("p2pd");
    const a = await client.addr();
    expect(a.addr).toBe(node.address);
    expect(a.nodeId).toBe(node.nodeId);
    expect((await client.ifs()).ifs.length).toBeGreaterThan(0);
  });

  test("open self, send text, recv the echo; counters and info", async () => {
    const info = await client.open("c1", "self", { strategies: ["direct"] });
    expect(info.strategy).toBe("direct");
    expect(info.name).toBe("c1");
    const sent = await client.send("c1", "ECHO hello/wörld");
    expect(sent.sentChars).toBe("ECHO hello/wörld".length);
    expect(sent.sent).toBe(Buffer.byteLength("ECHO hello/wörld"));
    const got = await client.recv("c1", { timeout: 5 });
    expect(got.data).toBe("hello/wörld");
    const after = await client.info("c1");
    expect(after.msgsOut).toBe(1);
    expect(after.msgsIn).toBe(1);
    expect((await client.cons()).cons.map((c) => c.name)).toContain("c1");
  });

  test("binary send and receive keep every byte", async () => {
    const payload = Buffer.concat([
      Buffer.from("ECHO "),
      Buffer.from([0, 1, 2, 255, 254, 13, 128]),
    ]);
    expect((await client.sendBinary("c1", payload)).sent).toBe(payload.length);
    const got = await client.recvBinary("c1", { timeout: 5 });
    expect(Buffer.from(got.data)).toEqual(payload.subarray(5));
    expect(got.from).toMatch(/^(127\.0\.0\.1|::1):\d+$/);
  });

  test("binary messages with newlines (0x0a) and CRs round-trip through POST/GET /binary", async () => {
    const body = Buffer.from([0x0a, 0, 0x0d, 0x0a, 255, 0x0a, 0x0a]);
    const payload = Buffer.concat([Buffer.from("ECHO "), body]);
    expect((await client.sendBinary("c1", payload)).sent).toBe(payload.length);
    const got = await client.recvBinary("c1", { timeout: 5 });
    expect(Buffer.from(got.data)).toEqual(body);
  });

  test("subscriptions filter by message regex", async () => {
    await client.subscribe("c1", { msg: "^pong" });
    await client.send("c1", "ECHO ping 1");
    await client.send("c1", "ECHO pong 2");
    const pong = await client.recv("c1", { msg: "^pong", timeout: 5 });
    expect(pong.data).toBe("pong 2");
    // The catch-all subscription saw both, in order.
    expect((await client.recv("c1", { timeout: 5 })).data).toBe("ping 1");
    expect((await client.recv("c1", { timeout: 5 })).data).toBe("pong 2");
    await client.unsubscribe("c1", { msg: "^pong" });
    await expect(client.recv("c1", { msg: "^pong" })).rejects.toMatchObject({
      code: "ERR_NOT_SUBSCRIBED",
      status: 404,
    });
  });

  test("recv times out with 504 and a JSON error", async () => {
    const e = await client.recv("c1", { timeout: 0.2 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(P2pdClientError);
    expect(e).toMatchObject({ code: "ERR_RECV_TIMEOUT", status: 504 });
  });

  test("P2PD 0.1 paths still work (aliases with /key/value options)", async () => {
    const sub = await raw(server.port, "GET /p2p/sub/c1/msg_p/%5Eold HTTP/1.1\r\n\r\n");
    expect(statusOf(sub)).toBe(200);
    expect(bodyOf(sub).sub).toBe("[b'^old', None]"); // P2PD's body on P2PD's path
    await raw(server.port, "GET /p2p/send/c1/ECHO%20old%20path HTTP/1.1\r\n\r\n");
    const got = await raw(server.port, "GET /p2p/recv/c1/msg_p/%5Eold/timeout/5 HTTP/1.1\r\n\r\n");
    expect(bodyOf(got).data).toBe("old path");
  });

  test("tunnel turns the HTTP connection into a relay", async () => {
    await client.open("t1", "self", { strategies: ["direct"] });
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect(server.port, "127.0.0.1");
      let out = "";
      s.on("error", reject);
      s.on("data", (d) => {
        out += d.toString("latin1");
        if (out.includes("relayed")) {
          s.destroy();
          resolve(out);
        }
      });
      s.write("GET /tunnel/t1 HTTP/1.1\r\nUpgrade: p2pd-relay\r\n\r\nECHO relayed");
    });
    expect(answer.startsWith("HTTP/1.1 101")).toBe(true);
    expect(answer.endsWith("relayed")).toBe(true);
  });

  test("close removes the connection", async () => {
    expect((await client.close("t1")).closed).toBe("t1");
    await expect(client.info("t1")).rejects.toMatchObject({
      code: "ERR_NO_SUCH_CONNECTION",
      status: 404,
    });
  });
});

describe("REST API bad input and hostile requests", () => {
  test("typed JSON errors with HTTP status codes", async () => {
    await expect(client.open("c1", "self")).rejects.toMatchObject({
      code: "ERR_NAME_EXISTS",
      status: 409,
    });
    await expect(client.open("bad name!", "self")).rejects.toMatchObject({
      code: "ERR_BAD_NAME",
      status: 400,
    });
    await expect(client.open("x1", "not-an-address")).rejects.toMatchObject({
      status: expect.any(Number),
    });
    await expect(client.subscribe("c1", { msg: "(" })).rejects.toMatchObject({
      code: "ERR_BAD_REGEX",
      status: 400,
    });
    await expect(client.send("nope", "x")).rejects.toMatchObject({
      code: "ERR_NO_SUCH_CONNECTION",
      status: 404,
    });
    expect(statusOf(await raw(server.port, "GET /no/such/route HTTP/1.1\r\n\r\n"))).toBe(404);
    expect(statusOf(await raw(server.port, "PUT /version HTTP/1.1\r\n\r\n"))).toBe(405);
    expect(statusOf(await raw(server.port, "GET /send/c1/%E0%A4%A HTTP/1.1\r\n\r\n"))).toBe(400);
    expect(statusOf(await raw(server.port, "garbage\r\n\r\n"))).toBe(400);
    expect(
      statusOf(
        await raw(server.port, "GET /version HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
      ),
    ).toBe(400);
    expect(statusOf(await raw(server.port, "GET /recv/c1?timeout=abc HTTP/1.1\r\n\r\n"))).toBe(400);
  });

  test("oversized heads and bodies are refused", async () => {
    const big = `GET /version HTTP/1.1\r\nX-Pad: ${"a".repeat(20_000)}\r\n\r\n`;
    expect(statusOf(await raw(server.port, big))).toBe(431);
    const body = `POST /binary/c1 HTTP/1.1\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`;
    expect(statusOf(await raw(server.port, body))).toBe(413);
  });

  test("a slow client gets 408 and is disconnected", async () => {
    const answer = await raw(server.port, "GET /vers");
    expect(statusOf(answer)).toBe(408);
  });

  test("other origins, rebinding hosts and cross-site mutations are refused; nothing is opened", async () => {
    const before = server.connections().length;
    const hostile = await ask("GET /open/evil/self", "Origin: http://evil.example");
    expect(statusOf(hostile)).toBe(403);
    expect(bodyOf(hostile).error.code).toBe("ERR_BAD_ORIGIN");
    const rebind = await ask("GET /open/evil/self", "Host: evil.example:12333");
    expect(statusOf(rebind)).toBe(421);
    // An <img src> on a hostile page: no Origin header, but the browser says cross-site.
    const img = await ask("GET /open/evil/self", "Sec-Fetch-Site: cross-site");
    expect(bodyOf(img).error.code).toBe("ERR_CROSS_SITE");
    // A sandboxed iframe: Origin null, cross-site.
    const sandboxed = await ask(
      "GET /send/c1/ECHO%20x",
      "Origin: null",
      "Sec-Fetch-Site: cross-site",
    );
    expect(statusOf(sandboxed)).toBe(403);
    const preflight = await ask("OPTIONS /open/a/b", "Origin: http://evil.example");
    expect(statusOf(preflight)).toBe(403);
    expect(server.connections().length).toBe(before);
    // Reads from a loopback page are fine, with CORS for that origin only.
    const ok = await ask("GET /version", "Origin: http://127.0.0.1:5173");
    expect(statusOf(ok)).toBe(200);
    expect(ok).toContain("Access-Control-Allow-Origin: http://127.0.0.1:5173");
  });

  test("a bearer token, when set, is required", async () => {
    const guarded = await RestServer.start({ node: node as never, port: 0, token: "s3cret" });
    try {
      await expect(new P2pdClient({ url: guarded.url }).version()).rejects.toMatchObject({
        code: "ERR_UNAUTHORIZED",
        status: 401,
      });
      await expect(
        new P2pdClient({ url: guarded.url, token: "wrong!" }).version(),
      ).rejects.toMatchObject({ status: 401 });
      expect((await new P2pdClient({ url: guarded.url, token: "s3cret" }).version()).title).toBe(
        "p2pd",
      );
    } finally {
      await guarded.close();
    }
  });

  test("refuses to listen on a non-loopback address", async () => {
    await expect(
      RestServer.start({ node: node as never, host: "0.0.0.0", port: 0 }),
    ).rejects.toMatchObject({
      code: "ERR_NOT_LOOPBACK",
    });
  });
});

describe("OpenAPI", () => {
  test("describes every route the server dispatches on, and the server answers each path", async () => {
    const doc = buildOpenApi() as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    expect(doc.openapi).toBe("3.1.0");
    const ids = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).map((o) => o.operationId),
    );
    expect(ids.sort()).toEqual(ROUTES.map((r) => r.id).sort());
    const served = await client.openapi();
    expect(served).toEqual(JSON.parse(JSON.stringify(doc)));
    for (const path of Object.keys(doc.paths)) {
      const concrete = path.replace(/\{\w+\}/g, "zz");
      const answer = await raw(
        server.port,
        `GET ${concrete} HTTP/1.1\r\nConnection: close\r\n\r\n`,
      );
      // Known route: never "no API method" (a 404 may only be a missing connection).
      if (statusOf(answer) === 404) expect(bodyOf(answer).error.code).not.toBe("ERR_NOT_FOUND");
    }
  });
});

describe("HTTP keep-alive", () => {
  test("several requests on one connection, pipelined too; Connection: close is honoured", async () => {
    const answer = await raw(
      server.port,
      "GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /addr HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    const heads = answer.match(/HTTP\/1\.1 200 OK/g) ?? [];
    expect(heads.length).toBe(3);
    expect(answer).toContain("Connection: keep-alive");
    expect(answer.trimEnd().endsWith("}")).toBe(true);
    expect(answer).toContain(node.address);
  });

  test("HTTP/1.0 closes after one answer unless asked to keep alive", async () => {
    const one = await raw(
      server.port,
      "GET /version HTTP/1.0\r\n\r\nGET /version HTTP/1.0\r\n\r\n",
    );
    expect((one.match(/HTTP\/1\.1 200 OK/g) ?? []).length).toBe(1);
    expect(one).toContain("Connection: close");
  });

  test("an idle kept-alive connection is closed quietly, without a 408", async () => {
    const answer = await raw(server.port, "GET /version HTTP/1.1\r\n\r\n");
    expect(statusOf(answer)).toBe(200);
    expect(answer).not.toContain("408");
  });
});
