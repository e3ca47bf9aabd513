import { createServer } from "node:net";
import type { Endpoint, RouteLike } from "@p2pd/netifaces";
import { describe, expect, test } from "vitest";
import { Daemon, isPipeError, type Message, parsePorts, pipeOpen } from "../src/index.js";
import { tcpPortFree } from "./helpers.js";

/** A run of `n` consecutive free TCP ports on 127.0.0.1 (random base, retried). */
async function freeRange(n: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const ok = await Promise.all(
      Array.from({ length: n }, (_, k) => tcpPortFree("127.0.0.1", base + k)),
    );
    if (ok.every(Boolean)) return base;
  }
  throw new Error("no free port range");
}

class Echo extends Daemon {
  seen = 0;
  override async onMessage(msg: Message) {
    this.seen++;
    await msg.pipe.send(msg.data, msg.from);
  }
}

describe("ports", () => {
  test("numbers, strings, ranges and lists; bad input is ERR_BAD_PORT", () => {
    expect(parsePorts(8000)).toEqual([8000]);
    expect(parsePorts("8000-8002")).toEqual([8000, 8001, 8002]);
    expect(parsePorts([8000, 8001])).toEqual([8000, 8001]);
    expect(parsePorts([10, [20, 22], "30-31", "40,41"])).toEqual([10, 20, 21, 22, 30, 31, 40, 41]);
    expect(parsePorts("5,5,5")).toEqual([5]);
    // Input that would expand into millions of entries is refused, not walked.
    const huge = "0-65535,".repeat(1000).slice(0, -1);
    for (const bad of [
      "x",
      "10-5",
      "70000",
      "",
      [],
      [[1, 2, 3]],
      -1,
      1.5,
      "1-70000",
      huge,
    ] as const) {
      let err: unknown;
      try {
        parsePorts(bad as never);
      } catch (e) {
        err = e;
      }
      expect(isPipeError(err, "ERR_BAD_PORT")).toBe(true);
    }
  });
});

describe("Daemon", () => {
  test("listenAll: targets × port range × protos, messages echo through a subclass", async () => {
    const base = await freeRange(3);
    const d = new Echo();
    await d.listenAll(["127.0.0.1", { host: "::1" }], `${base}-${base + 2}`, ["tcp", "udp"]);
    expect(d.servers).toHaveLength(2 * 3 * 2);
    expect(d.listenPort()).toBe(base);
    for (const s of d.servers) {
      const c = await pipeOpen(s.proto, undefined, s.local);
      await c.send(`via ${s.proto} ${s.local.host}`);
      expect((await c.recv({ timeout: 2000 })).toString()).toBe(`via ${s.proto} ${s.local.host}`);
      await c.close();
    }
    expect(d.seen).toBe(12);
    await d.close();
    expect(d.servers).toHaveLength(0);
    expect(await tcpPortFree("127.0.0.1", base)).toBe(true);
  });

  test("family filter and RouteLike targets; wildcard target binds both families", async () => {
    let remembered = -1;
    const route: RouteLike = {
      family: 4,
      nicBind: (): Endpoint => ({ host: "127.0.0.1", port: 0, family: 4 }),
      setBindPort: (p) => {
        remembered = p;
      },
    };
    const d = new Daemon({ onMessage: (m) => m.pipe.send(m.data, m.from) });
    await d.listenAll([route, "::1"], 0, "udp", 4);
    expect(d.servers.map((s) => s.local.family)).toEqual([4]);
    expect(d.servers[0]?.route).toBe(route);
    expect(remembered).toBe(-1); // the daemon binds copies, never the caller's route
    await d.close();
    await expect(
      d.listenAll(["::1"], 0, "tcp", { family: 4, errorOnFamily: true }),
    ).rejects.toMatchObject({
      code: "ERR_FAMILY",
    });
    const w = new Daemon();
    await w.listenAll(undefined, 0, "tcp");
    expect(w.servers.map((s) => s.local.host).sort()).toEqual(["0.0.0.0", "::"]);
    await w.close();
  });

  test("all or nothing: one failed bind closes the listeners already opened", async () => {
    const base = await freeRange(3);
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen({ host: "127.0.0.1", port: base + 2 }, r));
    const d = new Daemon();
    await expect(d.listenAll("127.0.0.1", [base, base + 1, base + 2], "tcp")).rejects.toMatchObject(
      {
        code: "ERR_BIND",
      },
    );
    expect(d.servers).toHaveLength(0);
    expect(await tcpPortFree("127.0.0.1", base)).toBe(true);
    expect(await tcpPortFree("127.0.0.1", base + 1)).toBe(true);
    await d.listenAll("127.0.0.1", [base, base + 1, base + 2], "tcp", { bestEffort: true });
    expect(d.servers.map((s) => s.local.port)).toEqual([base, base + 1]);
    await d.close();
    await new Promise((r) => blocker.close(r));
  });

  test("listenSpecific binds exactly what it is given; TCP children have no stray queue", async () => {
    const conns: string[] = [];
    const d = new Daemon({
      onMessage: (m) => m.pipe.send(m.data),
      onConnection: (c) => void conns.push(c.kind),
    });
    await d.listenSpecific([
      [{ host: "127.0.0.1", port: 0 }, "tcp"],
      [{ host: "::1", port: 0, family: 6 }, "udp"],
    ]);
    expect(d.servers.map((s) => `${s.proto}/${s.local.family}`)).toEqual(["tcp/4", "udp/6"]);
    const tcp = d.servers[0]?.pipe;
    const c = await pipeOpen("tcp", undefined, tcp?.local as Endpoint);
    await c.send("a");
    expect((await c.recv()).toString()).toBe("a");
    expect(conns).toEqual(["tcp-child"]);
    const child = [
      ...((tcp as unknown as { children: Set<{ subscription(): unknown }> }).children ?? []),
    ][0];
    expect(child?.subscription()).toBeUndefined();
    await c.close();
    await d.close();
  });
});

describe("Daemon errors", () => {
  test("a failing async handler surfaces as the daemon's 'error' event and lastError", async () => {
    const d = new Daemon({
      onMessage: async () => {
        throw new Error("handler broke");
      },
    });
    await d.listenAll("127.0.0.1", 0, "udp");
    const err = new Promise<Error>((r) => d.once("error", r));
    const c = await pipeOpen("udp", undefined, d.servers[0]?.local as Endpoint);
    await c.send("x");
    expect((await err).message).toBe("handler broke");
    expect(d.lastError?.message).toBe("handler broke");
    await c.close();
    await d.close();
  });
});
