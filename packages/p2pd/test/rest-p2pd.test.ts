// P2PD's paths (/p2p/*) answer with P2PD's bodies (rest_api.py: `error` field, `con_info`,
// `client_tup`) on a real node; our own paths keep real status codes. The last test drives the
// server with P2PD's own client code (http_req_buf + ParseHTTPResponse) from the Python reference.
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type P2PNode, startNode } from "@p2pd/node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RestServer } from "../src/rest/index.js";

const REF = "/work/shared/reference/p2pd-python";
const PY = "/usr/bin/python3";

let node: P2PNode;
let server: RestServer;
/** The node's end of connection p1 as P2PD shows it ([ip, port]); loopback, IPv4 or IPv6. */
let peer: [string, number];
const tup = () => `${peer[0]}:${peer[1]}`;

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  json: Record<string, unknown>;
}

async function call(method: string, path: string, body?: Buffer): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    ...(body ? { body, headers: { "Content-Type": "application/octet-stream" } } : {}),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  let json: Record<string, unknown> = {};
  if (res.headers.get("content-type")?.startsWith("application/json")) json = JSON.parse(`${buf}`);
  return { status: res.status, headers: res.headers, body: buf, json };
}
const get = (path: string) => call("GET", path);

beforeAll(async () => {
  node = await startNode({ interfaces: "loopback", seed: "rest-p2pd-test" });
  server = await RestServer.start({ node: node as never, port: 0 });
});

afterAll(async () => {
  await server?.close();
  await node?.close();
});

describe("/p2p/* answers as P2PD's REST server", () => {
  test("version, addr and ifs carry error: 0", async () => {
    const v = await get("/p2p/version");
    expect(v.status).toBe(200);
    expect(v.json).toMatchObject({ title: "p2pd", error: 0 });
    expect(typeof v.json.author).toBe("string");
    expect((await get("/version")).json.error).toBeUndefined(); // ours: no P2PD fields
    const a = await get("/p2p/addr");
    expect(a.json).toEqual({ addr: node.address, error: 0 });
    const i = await get("/p2p/ifs");
    expect(i.json.error).toBe(0);
    expect((i.json.ifs as unknown[]).length).toBeGreaterThan(0);
  });

  test("open answers P2PD's con_info; errors are 200 with P2PD's numbers, ours keep statuses", async () => {
    const o = await get("/p2p/open/p1/self?strategies=direct");
    expect(o.status).toBe(200);
    const info = o.json;
    expect(info).toMatchObject({ error: 0, name: "p1", fd: -1 });
    peer = info.raddr as [string, number];
    expect(peer).toEqual([expect.stringMatching(/^(127\.0\.0\.1|::1)$/), node.port]);
    expect(info.laddr).toEqual([peer[0], expect.any(Number)]);
    const v6 = peer[0] === "::1";
    expect(info.route).toMatchObject({
      af: v6 ? 10 : 2,
      nic_ips: [{ af: v6 ? 10 : 2, cidr: v6 ? 128 : 32, ip: peer[0] }],
    });
    expect(info.if).toEqual({ name: "lo", offset: 0 });

    const again = await get("/p2p/open/p1/self");
    expect(again.status).toBe(200);
    expect(again.json).toEqual({
      error: 2,
      msg: "Con name already exists.",
      code: "ERR_NAME_EXISTS",
    });
    expect((await get("/open/p1/self")).status).toBe(409);

    const missing = await get("/p2p/con/nope");
    expect(missing.status).toBe(200);
    expect(missing.json).toMatchObject({ error: 7, msg: "con nope does not exist" });
    expect((await get("/info/nope")).status).toBe(404);
    expect((await get("/p2p/con/p1")).json).toMatchObject({ error: 0, name: "p1", fd: -1 });

    const bad = await get("/p2p/open/p9/not-an-address");
    expect(bad.status).toBe(200);
    expect(bad.json).toMatchObject({ error: 3, msg: "Con p9 failed connect." });
  });

  test("send and recv: con_name, sent, client_tup and the x-client-tup header", async () => {
    const s = await get("/p2p/send/p1/ECHO%20hi%20there");
    expect(s.json).toEqual({ con_name: "p1", name: "p1", sent: 13, error: 0 });
    const r = await get("/p2p/recv/p1/timeout/5");
    expect(r.json).toEqual({
      con_name: "p1",
      client_tup: peer,
      data: "hi there",
      error: 0,
    });
    expect(r.headers.get("x-client-tup")).toBe(tup());

    const t = await get("/p2p/recv/p1/timeout/0.2");
    expect(t.status).toBe(200);
    expect(t.json).toEqual({ error: 5, msg: "recv timeout", code: "ERR_RECV_TIMEOUT" });
    expect((await get("/recv/p1?timeout=0.2")).status).toBe(504);
  });

  test("named subscriptions: msg_p, addr_p tuples, reserved and duplicate names, DELETE", {
    timeout: 30_000,
  }, async () => {
    const sub = await get("/p2p/sub/p1/name/s1/msg_p/%5Epong");
    expect(sub.json).toEqual({
      con_name: "p1",
      name: "p1",
      sub_name: "s1",
      sub: "[b'^pong', None]",
      error: 0,
    });
    expect((await get("/p2p/sub/p1/name/s1/msg_p/x")).json).toMatchObject({ error: 9 });
    expect((await get("/p2p/sub/p1/name/all")).json).toMatchObject({ error: 10 });
    const byAddr = await get(
      `/p2p/sub/p1/name/s2/addr_p/${encodeURIComponent(`('${peer[0]}', 0)`)}`,
    );
    expect(byAddr.json).toMatchObject({ sub: `[None, ('${peer[0]}', 0)]`, error: 0 });
    const wrongAddr = await get(
      `/p2p/sub/p1/name/s3/addr_p/${encodeURIComponent("('10.9.9.9', 1)")}`,
    );
    expect(wrongAddr.json.error).toBe(0);

    await get("/p2p/send/p1/ECHO%20ping");
    await get("/p2p/send/p1/ECHO%20pong");
    expect((await get("/p2p/recv/p1/name/s1/timeout/5")).json.data).toBe("pong");
    expect((await get("/p2p/recv/p1/name/s2/timeout/5")).json.data).toBe("ping");
    expect((await get("/p2p/recv/p1/name/s3/timeout/0.2")).json).toMatchObject({ error: 5 });
    // The catch-all subscription (P2PD's SUB_ALL) saw both, in order.
    expect((await get("/p2p/recv/p1/timeout/5")).json.data).toBe("ping");
    expect((await get("/p2p/recv/p1/timeout/5")).json.data).toBe("pong");

    const un = await call("DELETE", "/p2p/sub/p1/name/s1");
    expect(un.json).toEqual({ con_name: "p1", unsub: "[b'^pong', None]", error: 0 });
    expect((await get("/p2p/sub/p1/name/s1/msg_p/%5Epong")).json.error).toBe(0); // name free again
    const bad = await get(`/p2p/sub/p1/name/s4/addr_p/${encodeURIComponent("os.system('x')")}`);
    expect(bad.status).toBe(200);
    expect(bad.json).toMatchObject({ error: "Exception", code: "ERR_BAD_REQUEST" });
  });

  test("binary POST and GET; an empty buffer is P2PD's error 6; close", {
    timeout: 20_000,
  }, async () => {
    const payload = Buffer.concat([Buffer.from("ECHO "), Buffer.from([0, 200, 201, 13, 10])]);
    const s = await call("POST", "/p2p/binary/p1", payload);
    expect(s.json).toEqual({ con_name: "p1", name: "p1", sent: payload.length, error: 0 });
    const g = await get("/p2p/binary/p1/timeout/5");
    expect(g.headers.get("content-type")).toBe("application/octet-stream");
    expect(g.body).toEqual(payload.subarray(5));
    expect(g.headers.get("x-client-tup")).toBe(tup());
    const empty = await get("/p2p/binary/p1/timeout/0.2");
    expect(empty.status).toBe(200);
    expect(empty.json).toMatchObject({ error: 6, code: "ERR_RECV_TIMEOUT" });
    expect((await get("/p2p/close/p1")).json).toEqual({ closed: "p1", error: 0 });
    expect((await get("/p2p/close/p1")).json).toMatchObject({ error: 7 });
    expect((await get("/close/p1")).status).toBe(404);
  });
});

const refMissing = !existsSync(join(REF, "src/p2pd/protocol/http/http_client_lib.py"));
const pyMissing = refMissing || !existsSync(PY);
if (pyMissing) {
  console.warn(
    `skipping P2PD's own REST client: needs ${REF} (the Python reference) and ${PY} with the Debian packages of .ci/apt-packages`,
  );
}

describe.skipIf(pyMissing)("P2PD's own REST client code against our server", () => {
  test("http_req_buf + ParseHTTPResponse: open self, send, recv, binary, close", async () => {
    try {
      execFileSync(PY, ["-c", "import p2pd.protocol.http.http_client_lib"], {
        env: { ...process.env, PYTHONPATH: join(REF, "src") },
        stdio: "pipe",
      });
    } catch (e) {
      throw new Error(
        `P2PD does not import from ${REF} (Debian python3-ecdsa etc. missing?): ${e}`,
      );
    }
    const hex = (s: string | Buffer) => Buffer.from(s).toString("hex");
    const bin = Buffer.from([0x45, 0x43, 0x48, 0x4f, 0x20, 200, 201, 202, 203]); // P2PD's p2pd.html
    const reqs = [
      ["GET", "/p2p/version", ""],
      ["GET", "/p2p/open/py/self", ""],
      ["GET", `/p2p/sub/py/name/hello/msg_p/${encodeURIComponent("[hH]e[l]+o")}`, ""],
      ["GET", `/p2p/send/py/${encodeURIComponent("ECHO Hello, world!")}`, ""],
      ["GET", "/p2p/recv/py/name/hello/timeout/2", ""],
      ["GET", "/p2p/recv/py", ""],
      ["POST", "/p2p/binary/py", hex(bin)],
      ["GET", "/p2p/binary/py", ""],
      ["GET", "/p2p/close/py", ""],
    ];
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        PY,
        [join(import.meta.dirname, "helpers/p2pd_rest_client.py"), String(server.port)],
        { env: { ...process.env, PYTHONPATH: join(REF, "src") }, timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err}: ${stderr}`)) : resolve(stdout)),
      );
      child.stdin?.end(JSON.stringify(reqs));
    });
    const answers = JSON.parse(out) as {
      status: number;
      headers: Record<string, string>;
      body_hex: string;
    }[];
    const body = (i: number) => Buffer.from(answers[i]?.body_hex ?? "", "hex");
    const json = (i: number) => JSON.parse(`${body(i)}`);
    for (const a of answers) expect(a.status).toBe(200);
    expect(json(0)).toMatchObject({ title: "p2pd", error: 0 });
    expect(json(1)).toMatchObject({ error: 0, name: "py" });
    expect(json(2)).toMatchObject({ error: 0, sub: "[b'[hH]e[l]+o', None]" });
    expect(json(3)).toMatchObject({ error: 0, sent: 18 });
    expect(json(4)).toMatchObject({
      error: 0,
      data: "Hello, world!",
      client_tup: [expect.stringMatching(/^(127\.0\.0\.1|::1)$/), node.port],
    });
    const from = json(4).client_tup as [string, number];
    expect(answers[4]?.headers["x-client-tup"]).toBe(`${from[0]}:${from[1]}`);
    expect(json(5)).toMatchObject({ error: 0, data: "Hello, world!" }); // flushed from SUB_ALL
    expect(json(6)).toMatchObject({ error: 0, sent: 9 });
    expect(body(7)).toEqual(bin.subarray(5)); // "the node echoes back the last 4 bytes"
    expect(json(8)).toEqual({ closed: "py", error: 0 });
  }, 90_000);
});
