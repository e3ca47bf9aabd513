import { createSocket } from "node:dgram";
import { PassThrough } from "node:stream";
import { stun } from "p2pd";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../src/cli.js";
import { STUN_SERVER_ARGV } from "./contract-values.js";
import { cli } from "./run-cli.js";

let server: InstanceType<typeof stun.StunServer>;
beforeAll(async () => {
  server = await new stun.StunServer({
    ips: ["127.0.0.1", "127.0.0.2"],
    port: 0,
    altPort: 0,
  }).listen();
});
afterAll(async () => {
  await server.close();
});

describe("p2pd stun", () => {
  test("--json prints the mapped address, rtt and server (UDP)", async () => {
    const r = await cli(
      ...["stun", `127.0.0.1:${server.primary.port}`, "--local", "127.0.0.1", "--json"],
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    // The contract other tools rely on: mapped is exactly { ip, port }, rtt a number of ms.
    expect(j.mapped).toEqual({ ip: "127.0.0.1", port: expect.any(Number) });
    expect(j.mapped).toEqual(j.local);
    expect(j.server).toBe(`127.0.0.1:${server.primary.port}`);
    expect(j.protocol).toBe("udp");
    expect(typeof j.rtt).toBe("number");
    expect(j.otherAddress).toEqual({ ip: "127.0.0.2", port: server.other?.port });
  }, 20_000);

  test("--tcp, and the human form", async () => {
    const r = await cli("stun", `127.0.0.1:${server.primary.port}`, "--tcp", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).protocol).toBe("tcp");
    const h = await cli("stun", `127.0.0.1:${server.primary.port}`);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^127\.0\.0\.1:\d+ {2}\(via 127\.0\.0\.1:\d+ over udp, rtt [\d.]+ ms/);
  }, 20_000);

  test("--change-ip --change-port: the answer comes from the other address", async () => {
    const r = await cli(
      ...["stun", `127.0.0.1:${server.primary.port}`, "--change-ip", "--change-port", "--json"],
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).from).toEqual({ ip: "127.0.0.2", port: server.other?.port });
  }, 20_000);

  test("--family 6 against an IPv6 server", async () => {
    const v6 = await new stun.StunServer({ ips: ["::1"], port: 0, protocols: ["udp"] }).listen();
    try {
      const r = await cli("stun", `[::1]:${v6.primary.port}`, "--family", "6", "--json");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).mapped.ip).toBe("::1");
    } finally {
      await v6.close();
    }
  }, 20_000);

  test("no answer: exit 1 with ERR_STUN_TIMEOUT; bad arguments: exit 2", async () => {
    const sink = createSocket("udp4");
    await new Promise<void>((r) => sink.bind(0, "127.0.0.1", r));
    try {
      const r = await cli(
        ...["stun", `127.0.0.1:${sink.address().port}`, "--timeout", "200", "--json"],
      );
      expect(r.code).toBe(1);
      expect(JSON.parse(r.out).error.code).toBe("ERR_STUN_TIMEOUT");
    } finally {
      sink.close();
    }
    for (const argv of [
      ["stun"],
      ["stun", "127.0.0.1:99999"],
      ["stun", "127.0.0.1", "--family", "5"],
    ]) {
      const r = await cli(...argv, "--json");
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out).error.code).toBe("ERR_USAGE");
    }
  }, 20_000);
});

describe("p2pd stun-server", () => {
  test("serves RFC 5780 on two IPs until interrupted; p2pd stun can query it", async () => {
    const ac = new AbortController();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    const ready = new Promise<void>((resolve) =>
      stdout.on("data", (d) => {
        out += d;
        if (out.includes("\n")) resolve();
      }),
    );
    const done = run(STUN_SERVER_ARGV, { stdout, stderr, signal: ac.signal });
    await ready;
    const j = JSON.parse(out);
    expect(j.rfc5780).toBe(true);
    expect(j.listening).toHaveLength(8);
    const q = await cli("stun", `127.0.0.1:${j.primary.port}`, "--change-port", "--json");
    expect(q.code).toBe(0);
    expect(JSON.parse(q.out).from).toEqual({ ip: "127.0.0.1", port: j.other.port });
    ac.abort();
    expect(await done).toBe(0);
  }, 20_000);

  test("bad flags are usage errors", async () => {
    for (const argv of [
      ["stun-server"],
      ["stun-server", "--ip", "nope"],
      ["stun-server", "--ip", "127.0.0.1", "--port", "70000"],
      ["stun-server", "--ip", "127.0.0.1", "--proto", "sctp"],
    ]) {
      const r = await cli(...argv, "--json");
      expect(r.code).toBe(2);
    }
  }, 20_000);

  test("a port already in use is a failure (exit 1, ERR_STUN_BIND)", async () => {
    const r = await cli(
      ...["stun-server", "--ip", "127.0.0.1", "--port", String(server.primary.port), "--json"],
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).error.code).toBe("ERR_STUN_BIND");
  }, 20_000);
});
