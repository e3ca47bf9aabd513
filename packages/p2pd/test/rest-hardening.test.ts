import { connect, type Socket } from "node:net";
import { type P2PNode, startNode } from "@p2pd/node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { P2pdClient } from "../src/index.js";
import { MATCH_PREFIX, MAX_SUBS, RestServer } from "../src/rest/index.js";

// Attacks on the REST server: smuggling, hostile browsers, ReDoS, pipelining, socket floods,
// relay edge cases. Everything against a real node and a real server on loopback.
let node: P2PNode;
let server: RestServer;
let client: P2pdClient;

/** A raw connection that collects everything the server sends. */
function open(port: number): { s: Socket; out: () => string; closed: Promise<void> } {
  const s = connect(port, "127.0.0.1");
  let out = "";
  s.on("data", (d) => (out += d.toString("latin1")));
  s.on("error", () => {});
  const closed = new Promise<void>((r) => s.on("close", () => r()));
  return { s, out: () => out, closed };
}

/** Sends raw bytes and returns the raw answer once the server closes. */
async function raw(port: number, request: string | Buffer): Promise<string> {
  const c = open(port);
  c.s.write(request);
  await c.closed;
  return c.out();
}
const statusOf = (answer: string) => Number(answer.split(" ")[1]);
const headOf = (answer: string) => answer.slice(0, answer.indexOf("\r\n\r\n"));
const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));
const GET = (path: string, headers = "") =>
  `GET ${path} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`;

beforeAll(async () => {
  node = await startNode({ interfaces: "loopback", seed: "rest-hardening" });
  server = await RestServer.start({ node, port: 0, requestTimeoutMs: 800 });
  client = new P2pdClient({ url: server.url });
  await client.open("h1", "self", { strategies: ["direct"] });
});

afterAll(async () => {
  await server?.close();
  await node?.close();
});

describe("request smuggling and malformed heads", () => {
  test.each([
    ["space before the colon", "POST /binary/h1 HTTP/1.1\r\nContent-Length : 5\r\n\r\nECHOx"],
    ["an obs-folded header", "GET /version HTTP/1.1\r\nX-A: 1\r\n Content-Length: 5\r\n\r\n"],
    ["a bare LF inside a header", "GET /version HTTP/1.1\r\nX-A: 1\nContent-Length: 5\r\n\r\n"],
    ["a NUL in a header", "GET /version HTTP/1.1\r\nX-A: a\0b\r\n\r\n"],
    [
      "two Content-Lengths",
      "POST /binary/h1 HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    ],
    [
      "Content-Length and Transfer-Encoding",
      "POST /binary/h1 HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ["a signed Content-Length", "POST /binary/h1 HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc"],
    [
      "two Sec-Fetch-Site",
      "GET /open/x9/self HTTP/1.1\r\nSec-Fetch-Site: none\r\nSec-Fetch-Site: cross-site\r\n\r\n",
    ],
    ["a bad percent-encoding in a name", "GET /info/%ZZ HTTP/1.1\r\n\r\n"],
  ])("%s is a 400, and nothing is sent", async (_, req) => {
    const before = (await client.info("h1")).msgsOut;
    const answer = await raw(server.port, req);
    expect(statusOf(answer)).toBe(400);
    expect(bodyOf(answer).error.code).toMatch(/^ERR_BAD_/);
    expect((await client.info("h1")).msgsOut).toBe(before);
    expect(server.connections().map((c) => c.name)).toEqual(["h1"]);
  });

  test("a request line with encoded CR LF never becomes a response header", async () => {
    const answer = await raw(server.port, GET("/info/a%0d%0aSet-Cookie:%20x=1"));
    expect(statusOf(answer)).toBe(404);
    expect(headOf(answer)).not.toMatch(/set-cookie/i);
    const sub = await raw(server.port, GET("/sub/h1?msg=%0d%0aSet-Cookie:%20x"));
    expect(statusOf(sub)).toBe(200);
    expect(headOf(sub)).not.toMatch(/set-cookie/i);
    expect(bodyOf(sub).sub.msg).toBe("\r\nSet-Cookie: x");
  });

  test("Expect: 100-continue gets a 100 before the body is sent (curl waits a second otherwise)", async () => {
    const c = open(server.port);
    c.s.write(
      "POST /binary/h1 HTTP/1.1\r\nContent-Length: 9\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
    );
    await expect.poll(c.out).toContain("HTTP/1.1 100 Continue\r\n\r\n");
    c.s.write("ECHO body");
    await c.closed;
    expect(c.out()).toContain("HTTP/1.1 200 OK");
    expect((await client.recv("h1", { timeout: 5 })).data).toBe("body");
  });

  test("a client dribbling its head byte by byte still gets its 408 (the timer is per request)", async () => {
    const c = open(server.port);
    const req =
      "GET /version HTTP/1.1\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let i = 0;
    const drip = setInterval(() => {
      if (i < req.length && !c.s.destroyed) c.s.write(req[i++] as string);
    }, 40);
    await c.closed;
    clearInterval(drip);
    expect(statusOf(c.out())).toBe(408);
  });
});

describe("hostile browsers", () => {
  test("a refused origin is never echoed in Access-Control-Allow-Origin", async () => {
    const answer = await raw(server.port, GET("/version", "Origin: http://evil.example\r\n"));
    expect(statusOf(answer)).toBe(403);
    expect(headOf(answer)).not.toContain("evil.example");
    expect(headOf(answer)).not.toMatch(/access-control-allow-origin/i);
  });

  test("an opaque cross-site origin (sandboxed iframe) cannot even read the node's addresses", async () => {
    for (const path of ["/addr", "/ifs", "/cons"]) {
      const answer = await raw(
        server.port,
        GET(path, "Origin: null\r\nSec-Fetch-Site: cross-site\r\n"),
      );
      expect(statusOf(answer)).toBe(403);
      expect(answer).not.toContain(node.address);
    }
    // curl-like tools and file: pages without Fetch Metadata keep working, as in P2PD.
    expect(statusOf(await raw(server.port, GET("/addr", "Origin: null\r\n")))).toBe(200);
  });

  test("a browser without Fetch Metadata is stopped by its cross-site Referer", async () => {
    const answer = await raw(
      server.port,
      GET("/open/ref1/self", "Referer: http://evil.example/page\r\n"),
    );
    expect(statusOf(answer)).toBe(403);
    expect(bodyOf(answer).error.code).toBe("ERR_CROSS_SITE");
    expect(server.connections().map((c) => c.name)).toEqual(["h1"]);
    // The dashboard's own Referer is fine.
    const own = await raw(server.port, GET("/info/h1", `Referer: ${server.url}/\r\n`));
    expect(statusOf(own)).toBe(200);
  });

  test('names "." and ".." are refused: URL parsers would collapse them into other routes', async () => {
    for (const n of [".", ".."]) {
      const answer = await raw(server.port, GET(`/open/${n}/self`));
      expect(statusOf(answer)).toBe(400);
      expect(bodyOf(answer).error.code).toBe("ERR_BAD_NAME");
    }
    // Names equal to route words are fine: routes are anchored.
    await client.open("version", "self", { strategies: ["direct"] });
    expect((await client.info("version")).name).toBe("version");
    expect((await client.version()).title).toBe("p2pd");
    await client.close("version");
  });

  test("the dashboard page forbids framing and sniffing", async () => {
    const answer = await raw(server.port, GET("/"));
    expect(headOf(answer)).toContain("frame-ancestors 'none'");
    expect(headOf(answer)).toContain("X-Frame-Options: DENY");
    expect(headOf(answer)).toContain("X-Content-Type-Options: nosniff");
  });
});

describe("regexes from requests (ReDoS)", () => {
  test.each([
    ["(x)\\1", "backreference"],
    ["(?=x)y", "does not compile"],
    ["a".repeat(300), "longer than"],
  ])("%s is refused (%s)", async (re, why) => {
    await expect(client.subscribe("h1", { msg: re })).rejects.toMatchObject({
      code: "ERR_BAD_REGEX",
      status: 400,
      message: expect.stringContaining(why),
    });
    await expect(client.subscribe("h1", { addr: re })).rejects.toMatchObject({
      code: "ERR_BAD_REGEX",
    });
  });

  test("backtracking patterns match in linear time (RE2): [ ]|(a+)+b] and friends", async () => {
    // `[]|(a+)+b]` passed the old syntactic guard and backtracked exponentially in V8.
    for (const msg of ["[]|(a+)+b]", "(a+)+b", "(a|aa)*b", "a*a*a*b", ".*.*x"]) {
      expect((await client.subscribe("h1", { msg })).sub.msg).toBe(msg);
    }
    const t0 = performance.now();
    // Each message is matched against all five patterns; V8 would take years on the first.
    for (let i = 0; i < 20; i++)
      await client.sendBinary("h1", Buffer.from(`ECHO ${"a".repeat(1000)}`));
    await client.send("h1", "ECHO done");
    expect((await client.recv("h1", { msg: "(a+)+b", timeout: 0.3 }).catch((e) => e)).code).toBe(
      "ERR_RECV_TIMEOUT",
    );
    expect(performance.now() - t0).toBeLessThan(4000);
    for (const msg of ["[]|(a+)+b]", "(a+)+b", "(a|aa)*b", "a*a*a*b", ".*.*x"]) {
      await client.unsubscribe("h1", { msg });
    }
    // Drain the catch-all copies.
    for (let i = 0; i < 21; i++) await client.recvBinary("h1", { timeout: 5 });
  });

  test("usual regexes are accepted, and a hostile message meets a bounded prefix only", async () => {
    for (const msg of ["^ECHO", "^\\d+\\.\\d+", "pong [0-9]{1,5}$", "a|b|c", "(ab)*c"]) {
      expect((await client.subscribe("h1", { msg })).sub.msg).toBe(msg);
      await client.unsubscribe("h1", { msg });
    }
    await client.subscribe("h1", { msg: "MARK" });
    // A big message whose only match lies past the prefix: not queued for that subscription.
    const late = Buffer.concat([
      Buffer.from("ECHO "),
      Buffer.alloc(MATCH_PREFIX, 0x61),
      Buffer.from("MARK"),
    ]);
    await client.sendBinary("h1", late);
    await client.send("h1", "ECHO MARK early");
    expect((await client.recv("h1", { msg: "MARK", timeout: 5 })).data).toBe("MARK early");
    // The catch-all subscription got both.
    expect((await client.recvBinary("h1", { timeout: 5 })).data.length).toBe(MATCH_PREFIX + 4);
    expect((await client.recv("h1", { timeout: 5 })).data).toBe("MARK early");
    await client.unsubscribe("h1", { msg: "MARK" });
  });

  test("subscriptions per connection are capped", async () => {
    const existing = (await client.info("h1")).subs.length;
    const made: string[] = [];
    let err: unknown;
    for (let i = 0; i < 100 && !err; i++) {
      await client.subscribe("h1", { msg: `^s${i}` }).then(
        () => made.push(`^s${i}`),
        (e: unknown) => (err = e),
      );
    }
    expect(err).toMatchObject({ code: "ERR_TOO_MANY_SUBS", status: 409 });
    expect(made.length + existing).toBe(MAX_SUBS);
    for (const msg of made) await client.unsubscribe("h1", { msg });
  });
});

describe("connections: pipelining and floods", () => {
  test("a request pipelined while a slow one is answered is not lost", async () => {
    const c = open(server.port);
    c.s.write("GET /recv/h1?timeout=0.3 HTTP/1.1\r\n\r\n");
    await new Promise((r) => setTimeout(r, 100));
    c.s.write("GET /version HTTP/1.1\r\nConnection: close\r\n\r\n");
    await c.closed;
    expect(c.out()).toContain("ERR_RECV_TIMEOUT");
    expect(c.out()).toContain('"title":"p2pd"');
  });

  test("a client that shuts down its side after the request still gets the answer", async () => {
    const c = open(server.port);
    c.s.end("GET /recv/h1?timeout=0.2 HTTP/1.1\r\n\r\n");
    await c.closed;
    expect(statusOf(c.out())).toBe(504);
    const two = open(server.port);
    two.s.end("GET /version HTTP/1.1\r\n\r\nGET /addr HTTP/1.1\r\n\r\n");
    await two.closed;
    expect(two.out()).toContain('"title":"p2pd"');
    expect(two.out()).toContain(node.address);
  });

  test("open HTTP connections are capped with a 503; a freed slot is usable again", async () => {
    const small = await RestServer.start({ node, port: 0, maxSockets: 3 });
    try {
      const idle = [open(small.port), open(small.port), open(small.port)];
      await Promise.all(idle.map((c) => new Promise((r) => c.s.once("connect", r))));
      const extra = await raw(small.port, GET("/version"));
      expect(statusOf(extra)).toBe(503);
      expect(bodyOf(extra).error.code).toBe("ERR_BUSY");
      const first = idle[0] as ReturnType<typeof open>;
      first.s.destroy();
      await first.closed;
      await expect.poll(async () => statusOf(await raw(small.port, GET("/version")))).toBe(200);
      for (const c of idle) c.s.destroy();
    } finally {
      await small.close();
    }
  });

  test("refuses to listen on a name that only looks like loopback", async () => {
    await expect(
      RestServer.start({ node, host: "127.0.0.1.invalid", port: 0 }),
    ).rejects.toMatchObject({ code: "ERR_NOT_LOOPBACK" });
    const v6 = await RestServer.start({ node, host: "::1", port: 0 });
    expect(v6.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    await v6.close();
  });
});

describe("connection lifetime", () => {
  test("a recv waiting when its connection closes fails at once with 410, not at its timeout", async () => {
    await client.open("w1", "self", { strategies: ["direct"] });
    const waiting = client.recv("w1", { timeout: 30 }).catch((e: unknown) => e);
    await expect.poll(async () => (await client.info("w1")).subs[0]?.waiting).toBe(1);
    await client.close("w1");
    expect(await waiting).toMatchObject({ code: "ERR_CLOSED", status: 410 });
  });
});

describe("/tunnel edge cases", () => {
  const tunnel = (name: string) => {
    const c = open(server.port);
    c.s.write(`GET /tunnel/${name} HTTP/1.1\r\nUpgrade: p2pd-relay\r\n\r\n`);
    return c;
  };

  test("HEAD never turns a connection into a relay", async () => {
    const answer = await raw(server.port, "HEAD /tunnel/h1 HTTP/1.1\r\nConnection: close\r\n\r\n");
    expect(statusOf(answer)).toBe(405);
    expect((await client.info("h1")).relayed).toBe(false);
  });

  test("an unknown name is a 404 JSON answer", async () => {
    const c = tunnel("nope");
    await c.closed;
    expect(statusOf(c.out())).toBe(404);
    expect(bodyOf(c.out()).error.code).toBe("ERR_NO_SUCH_CONNECTION");
  });

  test("a second relay of the same connection is a 409; after the client leaves, recv works again", async () => {
    await client.open("t2", "self", { strategies: ["direct"] });
    const first = tunnel("t2");
    await expect.poll(first.out).toContain("101 Switching Protocols");
    expect((await client.info("t2")).relayed).toBe(true);
    const second = tunnel("t2");
    await second.closed;
    expect(statusOf(second.out())).toBe(409);
    expect(bodyOf(second.out()).error.code).toBe("ERR_RELAY_BUSY");
    // Bytes in both directions, then the client closes.
    first.s.write("ECHO via relay");
    await expect.poll(first.out).toContain("via relay");
    first.s.destroy();
    await expect.poll(async () => (await client.info("t2")).relayed).toBe(false);
    await client.send("t2", "ECHO after relay");
    expect((await client.recv("t2", { timeout: 5 })).data).toBe("after relay");
  });

  test("closing the P2P connection ends the relay", async () => {
    const c = tunnel("t2");
    await expect.poll(c.out).toContain("101 Switching Protocols");
    await client.close("t2");
    await c.closed;
    await expect(client.info("t2")).rejects.toMatchObject({ code: "ERR_NO_SUCH_CONNECTION" });
  });

  test("when the peer node goes away, the relay socket ends and the connection is dropped", async () => {
    const peer = await startNode({ interfaces: "loopback", seed: "rest-hardening-peer" });
    try {
      await client.open("p1", peer.address, { strategies: ["direct"] });
      const c = tunnel("p1");
      await expect.poll(c.out).toContain("101 Switching Protocols");
      c.s.write("ECHO from afar");
      await expect.poll(c.out).toContain("from afar");
      await peer.close();
      await c.closed;
      await expect
        .poll(async () => (await client.cons()).cons.map((x) => x.name))
        .not.toContain("p1");
    } finally {
      await peer.close();
    }
  });

  test("bytes sent with the request head are relayed (leftover), without Upgrade no HTTP answer", async () => {
    await client.open("t3", "self", { strategies: ["direct"] });
    const c = open(server.port);
    c.s.write("GET /p2p/pipe/t3 HTTP/1.1\r\n\r\nECHO leftover");
    await expect.poll(c.out).toBe("leftover");
    c.s.destroy();
    await client.close("t3");
  });

  test("relay bytes that look like HTTP requests are relayed, never served", async () => {
    await client.open("t4", "self", { strategies: ["direct"] });
    const c = open(server.port);
    // Without `Connection: upgrade` node:http would parse on; the head is cut from what follows.
    c.s.write("GET /p2p/pipe/t4 HTTP/1.1\r\n\r\nECHO GET /close/t4 HTTP/1.1\r\n\r\n");
    await expect.poll(c.out).toBe("GET /close/t4 HTTP/1.1\r\n\r\n");
    expect(server.connections().map((x) => x.name)).toContain("t4");
    c.s.destroy();
    // With `Connection: upgrade` (node:http's upgrade event), bytes after the head too.
    const u = open(server.port);
    u.s.write(
      "GET /tunnel/t4 HTTP/1.1\r\nUpgrade: p2pd-relay\r\nConnection: Upgrade\r\n\r\nECHO up",
    );
    await expect.poll(u.out).toMatch(/^HTTP\/1\.1 101 [\s\S]*\r\n\r\nup$/);
    u.s.destroy();
    await client.close("t4");
  });

  test("a head split right inside its blank line still ends where it should", async () => {
    await client.open("t5", "self", { strategies: ["direct"] });
    const c = open(server.port);
    c.s.write("GET /p2p/pipe/t5 HTTP/1.1\r\n\r");
    await new Promise((r) => setTimeout(r, 50));
    c.s.write("\nECHO split");
    await expect.poll(c.out).toBe("split");
    c.s.destroy();
    await client.close("t5");
  });
});
