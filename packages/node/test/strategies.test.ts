import { once } from "node:events";
import net from "node:net";
import type { Pipe } from "@p2pd/pipe";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type EmbeddedBroker,
  echo,
  type P2PNode,
  parseAddress,
  reverse,
  type Strategy,
  sealEnvelope,
  startNode,
} from "../src/index.js";
import { type Coturn, hasTurnserver, startCoturn } from "./traversal/coturn.js";
import { twoNodesForFile } from "./two-nodes.js";

let broker: EmbeddedBroker;
let a: P2PNode;
let b: P2PNode;

twoNodesForFile((n) => {
  ({ broker, a, b } = n);
});

const only = (addr: string, family: 4 | 6) => {
  const p = parseAddress(addr);
  return family === 4 ? { ...p, ipv6: [] } : { ...p, ipv4: [] };
};

describe("strategy list and plug-ins", () => {
  test("default order: direct, reverse, tcp-punch, udp-punch; turn is opt-in", () => {
    expect(a.defaultStrategies()).toEqual(["direct", "reverse", "tcp-punch", "udp-punch"]);
    expect(a.strategies.has("turn")).toBe(true);
  });

  test("configuring a TURN server opts in: turn comes last in the default order", async () => {
    const t = await startNode({
      interfaces: "loopback",
      mqtt: broker.url,
      turn: [{ url: "turn:127.0.0.1:3478", username: "u", password: "p" }],
    });
    try {
      expect(t.defaultStrategies()).toEqual([
        "direct",
        "reverse",
        "tcp-punch",
        "udp-punch",
        "turn",
      ]);
    } finally {
      await t.close();
    }
  });

  test("turn without a configured server is skipped, not attempted", async () => {
    const err = await b.connect(a.address, { strategies: ["turn"] }).catch((e) => e);
    expect(err.failures).toEqual([
      expect.objectContaining({ strategy: "turn", code: "ERR_SKIPPED" }),
    ]);
  });

  test("a user strategy plugs in: its own signaling message, answered by the peer's copy", async () => {
    // "knock": ask the peer to dial us, like reverse, but through a custom message type.
    const knock: Strategy = {
      name: "knock",
      timeoutMs: 5000,
      answers: ["KNOCK"],
      canTry: () => true,
      async run(ctx) {
        const inbound = ctx.waitInbound();
        await ctx.send("KNOCK", { port: ctx.local.ipv4[0]?.port });
        return inbound;
      },
      async respond(msg, ctx) {
        const sock = net.connect(Number(msg.port), "127.0.0.1");
        await once(sock, "connect");
        const pipe = ctx.wrap(sock);
        await pipe.send(`ID ${msg.pipeId}`);
        ctx.adopt(pipe);
      },
    };
    const x = await startNode({ interfaces: "loopback", mqtt: broker.url, strategies: [knock] });
    const y = await startNode({ interfaces: "loopback", mqtt: broker.url, strategies: [knock] });
    try {
      expect(x.defaultStrategies()).toContain("knock");
      const r = await y.connect(x.address, { strategies: ["knock"] });
      expect(r.strategy).toBe("knock");
      expect((await echo(r.pipe, "knock knock")).toString()).toBe("knock knock");
    } finally {
      await x.close();
      await y.close();
    }
  });
});

describe("udp-punch on loopback (reliable UDP stream under the node pipe)", () => {
  test.each([4, 6] as const)(
    "IPv%i",
    async (family) => {
      const r = await b.connect(only(a.address, family), { strategies: ["udp-punch"] });
      expect(r.strategy).toBe("udp-punch");
      expect(r.pipe.remote?.host).toBe(family === 4 ? "127.0.0.1" : "::1");
      expect((await echo(r.pipe, "over udp")).toString()).toBe("over udp");
      // Larger than one datagram: the stream fragments and reassembles.
      const big = "x".repeat(5000);
      expect((await echo(r.pipe, big)).toString()).toBe(big);
      await r.pipe.close();
    },
    20_000,
  );
});

describe("signaling robustness", () => {
  test("fuzz: authenticated but malformed messages never break the node", async () => {
    const { deriveKeys } = await import("../src/index.js");
    const mallory = deriveKeys();
    const mqtt = await import("mqtt");
    const c = await mqtt.default.connectAsync(broker.url, { protocolVersion: 4 });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.json(),
            fc
              .record({
                type: fc.constantFrom(
                  "CONNECT",
                  "TCP_OFFER",
                  "UDP_OFFER",
                  "TURN_OFFER",
                  "GET_ADDR",
                  "PING",
                  "X",
                ),
                pipeId: fc.oneof(fc.string(), fc.constant("ab".repeat(16))),
                from: fc.oneof(fc.string(), fc.constant(b.address)),
                host: fc.oneof(fc.string(), fc.ipV4()),
                ports: fc.array(fc.integer()),
                relay: fc.anything(),
                rttMs: fc.oneof(fc.double(), fc.integer()),
              })
              .map((o) => JSON.stringify(o)),
          ),
          async (body) => {
            const env = sealEnvelope(mallory, a.keys.x25519.publicKey, Buffer.from(body));
            await c.publishAsync(a.nodeId, env, { qos: 1 });
          },
        ),
        { numRuns: 150 },
      );
    } finally {
      await c.endAsync();
    }
    // Still alive and answering.
    expect(await b.ping(a.address)).toBeGreaterThan(0);
    const r = await b.connect(a.address, { strategies: ["direct"] });
    expect((await echo(r.pipe, "alive")).toString()).toBe("alive");
    await r.pipe.close();
  }, 60_000);
});

// coturn on loopback for the turn strategy (the traversal tests' starter; loopback peers allowed).
describe.skipIf(!hasTurnserver)("turn strategy through coturn on loopback", () => {
  let coturn: Coturn;

  beforeAll(async () => {
    coturn = await startCoturn();
  }, 20_000);

  afterAll(async () => {
    await coturn?.stop();
  });

  test("both nodes relay through their allocations; ECHO works", async () => {
    const turn = [
      {
        url: `turn:127.0.0.1:${coturn.port}`,
        username: coturn.username,
        password: coturn.password,
      },
    ];
    const x = await startNode({ interfaces: "loopback", mqtt: broker.url, turn });
    const y = await startNode({ interfaces: "loopback", mqtt: broker.url, turn });
    try {
      // x never talked to y: it spends no TURN allocation on it.
      const refused = await y.connect(only(x.address, 4), { strategies: ["turn"] }).catch((e) => e);
      expect(refused.failures[0].code).toBe("ERR_PEER_REFUSED");
      // Once x chose to talk to y (here a ping), it relays for it.
      await x.ping(y.address);
      const r = await y.connect(only(x.address, 4), { strategies: ["turn"] });
      expect(r.strategy).toBe("turn");
      // The peer is the other node's relayed address on the TURN server.
      expect(r.pipe.remote?.host).toBe("127.0.0.1");
      expect(r.pipe.remote?.port).not.toBe(x.port);
      expect((await echo(r.pipe, "relayed")).toString()).toBe("relayed");
      expect(await echo(r.pipe, BINARY)).toEqual(BINARY);
      await r.pipe.close();
    } finally {
      await x.close();
      await y.close();
    }
  }, 30_000);

  test("bad TURN credentials: a typed failure, not a hang", async () => {
    const turn = [
      { url: `turn:127.0.0.1:${coturn.port}`, username: coturn.username, password: "wrong" },
    ];
    const y = await startNode({ interfaces: "loopback", mqtt: broker.url, turn });
    try {
      const err = await y.connect(a.address, { strategies: ["turn"] }).catch((e) => e);
      expect(err.failures[0].code).toMatch(/^ERR_TURN/);
    } finally {
      await y.close();
    }
  }, 30_000);
});

// Same LAN (here: loopback), tcp-punch has the answerer listen on its punch port and the offerer
// dial it: without NATs dropping early SYNs, a simultaneous open meets RSTs (core-api.md §9.4).
// The real simultaneous open runs in natlab.test.ts, between two NATs.
describe("tcp-punch on the same LAN", () => {
  test.each([4, 6] as const)(
    "IPv%i: punch port to punch port, then ECHO",
    async (family) => {
      const r = await b.connect(only(a.address, family), { strategies: ["tcp-punch"] });
      expect(r.strategy).toBe("tcp-punch");
      // Not the node's listen port: the answerer's punch port.
      expect(r.pipe.remote?.port).not.toBe(a.port);
      expect((await echo(r.pipe, "punched")).toString()).toBe("punched");
      await r.pipe.close();
    },
    30_000,
  );
});

describe("tcp-punch connection selection (several tuples connect)", () => {
  test("the answerer keeps the connection carrying the offerer's selection byte, not the first one", async () => {
    // A hand-made offerer: it gets a real TCP_ANSWER from node a, then connects twice to the
    // answer's port, as two predicted tuples would. Only the second carries the selection byte
    // (0x01); the node must keep that one and drop the first, though the first came first.
    const sockets: net.Socket[] = [];
    const twoTuples: Strategy = {
      name: "two-tuples",
      timeoutMs: 10_000,
      canTry: () => true,
      async run(ctx) {
        const answer = ctx.waitFor("TCP_ANSWER");
        await ctx.send("TCP_OFFER", { family: 4, host: "127.0.0.1", ports: [1], rttMs: 1 });
        const ans = await answer;
        const port = (ans.ports as number[])[0] as number;
        await new Promise((r) => setTimeout(r, Math.max(0, (ans.at as number) - Date.now())));
        const dial = async () => {
          const s = net.connect(port, "127.0.0.1");
          sockets.push(s);
          s.on("error", () => {});
          await once(s, "connect");
          return s;
        };
        const first = await dial();
        // Let the first be accepted before the second exists.
        await new Promise((r) => setTimeout(r, 50));
        const second = await dial();
        second.write(Buffer.from([0x01]));
        const pipe = ctx.wrap(second);
        await pipe.send(`ID ${ctx.pipeId}`);
        const firstClosed = once(first, "close");
        return Object.assign(pipe, { firstClosed });
      },
    };
    const y = await startNode({
      interfaces: "loopback",
      mqtt: broker.url,
      strategies: [twoTuples],
    });
    try {
      const r = await y.connect(only(a.address, 4), { strategies: ["two-tuples"] });
      expect((await echo(r.pipe, "the selected one")).toString()).toBe("the selected one");
      await (r.pipe as unknown as { firstClosed: Promise<unknown> }).firstClosed;
      expect(sockets[0]?.destroyed).toBe(true);
      await r.pipe.close();
    } finally {
      for (const s of sockets) s.destroy();
      await y.close();
    }
  }, 20_000);
});

/** Bytes that line framing could not carry: every byte value, CR/LF runs, and a NUL. */
const BINARY = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from("\n\n\r\n\0\n"),
]);

describe("binary-safe node pipes on every strategy (loopback)", () => {
  // The tests above spent b's offers-per-minute budget as a stranger to a (each connect now
  // offers TCP and UDP punches at once): a signals b first, so b is a contact of a's.
  beforeAll(async () => {
    await a.ping(b.address);
  });
  test.each(["direct", "reverse", "tcp-punch", "udp-punch"] as const)(
    "%s: ECHO of binary data (0x0a, 0x0d, 0x00, all bytes) and an empty message",
    async (strategy) => {
      // On a loaded machine one punch may miss its window: a real dialer retries (at most 3).
      let r: Awaited<ReturnType<typeof b.connect>> | undefined;
      for (let i = 0; i < 3 && !r; i++)
        r = await b
          .connect(only(a.address, 4), { strategies: [strategy] })
          .catch((e: unknown) => (i === 2 ? Promise.reject(e) : undefined));
      if (!r) throw new Error("no connection");
      try {
        expect(r.strategy).toBe(strategy);
        expect(await echo(r.pipe, BINARY)).toEqual(BINARY);
        expect((await echo(r.pipe, new Uint8Array(0))).length).toBe(0);
        await fc.assert(
          fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (m) => {
            expect(await echo(r.pipe, m)).toEqual(Buffer.from(m));
          }),
          { numRuns: 20 },
        );
      } finally {
        await r.pipe.close();
      }
    },
    90_000,
  );
});

describe("strategy racing (happy eyeballs)", () => {
  /** A strategy that never succeeds by itself: it holds a socket until its signal aborts. */
  const hanging = (name: string, log: { aborted?: unknown; socket?: net.Socket }): Strategy => ({
    name,
    timeoutMs: 10_000,
    canTry: () => true,
    async run(ctx) {
      log.socket = net.connect(a.port, "127.0.0.1");
      log.socket.on("error", () => {});
      await new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => {
          log.aborted = ctx.signal.reason;
          log.socket?.destroy();
          reject(ctx.signal.reason);
        }),
      );
      throw new Error("unreachable");
    },
  });

  test("a slow first strategy: the next starts after the stagger, wins, and the loser is aborted", async () => {
    const log: { aborted?: unknown; socket?: net.Socket } = {};
    const y = await startNode({
      interfaces: "loopback",
      mqtt: broker.url,
      strategies: [hanging("hang", log)],
    });
    try {
      const r = await y.connect(only(a.address, 4), {
        strategies: ["hang", "direct", "udp-punch"],
        staggerMs: 50,
      });
      expect(r.strategy).toBe("direct");
      // Plan order; udp-punch never started (direct won before its stagger).
      expect(r.timings.strategies).toEqual([
        expect.objectContaining({ strategy: "hang", ok: false, code: "ERR_LOST_RACE" }),
        expect.objectContaining({ strategy: "direct", ok: true }),
      ]);
      expect(log.aborted).toMatchObject({ code: "ERR_LOST_RACE" });
      expect(log.socket?.destroyed).toBe(true);
      expect((await echo(r.pipe, "raced")).toString()).toBe("raced");
      await r.pipe.close();
    } finally {
      await y.close();
    }
  });

  test("a plug-in whose run() throws synchronously is one failure, and the next strategy runs", async () => {
    const broken: Strategy = {
      name: "broken",
      timeoutMs: 1000,
      canTry: () => true,
      run() {
        throw Object.assign(new Error("boom"), { code: "ERR_BROKEN" });
      },
    };
    const y = await startNode({ interfaces: "loopback", mqtt: broker.url, strategies: [broken] });
    try {
      const r = await y.connect(only(a.address, 4), { strategies: ["broken", "direct"] });
      expect(r.strategy).toBe("direct");
      expect(r.timings.strategies[0]).toMatchObject({ strategy: "broken", code: "ERR_BROKEN" });
      await r.pipe.close();
    } finally {
      await y.close();
    }
  });

  test("staggerMs: Infinity runs one after the other (the next only after a failure)", async () => {
    const log: { aborted?: unknown } = {};
    const quick: Strategy = { ...hanging("hang-short", log), timeoutMs: 200 };
    const y = await startNode({ interfaces: "loopback", mqtt: broker.url, strategies: [quick] });
    try {
      const r = await y.connect(only(a.address, 4), {
        strategies: ["hang-short", "direct"],
        staggerMs: Number.POSITIVE_INFINITY,
      });
      expect(r.strategy).toBe("direct");
      expect(r.timings.strategies[0]).toMatchObject({
        strategy: "hang-short",
        ok: false,
        code: "ERR_STRATEGY_TIMEOUT",
      });
    } finally {
      await y.close();
    }
  });

  test("a loser that still produces a pipe gets it closed, never handed out", async () => {
    let late: Pipe | undefined;
    const stubborn: Strategy = {
      name: "stubborn",
      timeoutMs: 10_000,
      canTry: () => true,
      async run(ctx) {
        // Ignores its signal: connects, waits, and returns a pipe after direct has won.
        const s = net.connect(a.port, "127.0.0.1");
        await once(s, "connect");
        await new Promise((r) => setTimeout(r, 200));
        late = ctx.wrap(s);
        return late;
      },
    };
    const y = await startNode({ interfaces: "loopback", mqtt: broker.url, strategies: [stubborn] });
    try {
      const r = await y.connect(only(a.address, 4), {
        strategies: ["stubborn", "direct"],
        staggerMs: 20,
      });
      expect(r.strategy).toBe("direct");
      await expect.poll(() => late && !late.isOpen, { timeout: 3000 }).toBe(true);
      expect(r.pipe.isOpen).toBe(true);
    } finally {
      await y.close();
    }
  });

  test("a reverse that loses the race: the peer's late dial-back is closed, not adopted", async () => {
    // z answers CONNECT like the built-in reverse, only 300 ms late: direct wins meanwhile.
    const slowReverse: Strategy = {
      ...reverse,
      async respond(msg, ctx) {
        await new Promise((r) => setTimeout(r, 300));
        return reverse.respond?.(msg, ctx);
      },
    };
    const z = await startNode({
      interfaces: "loopback",
      mqtt: broker.url,
      strategies: [slowReverse],
    });
    const y = await startNode({ interfaces: "loopback", mqtt: broker.url });
    const adopted: Pipe[] = [];
    const onPipe = ({ pipe }: { pipe: Pipe }) => adopted.push(pipe);
    y.on("pipe", onPipe);
    // z adopts its end of the dial-back (and of direct): the dial-back's must close when y refuses it.
    const onZ: { id: string; pipe: Pipe }[] = [];
    z.on("pipe", (e: { id: string; pipe: Pipe }) => onZ.push(e));
    try {
      const r = await y.connect(only(z.address, 4), {
        strategies: ["reverse", "direct"],
        staggerMs: 50,
      });
      expect(r.strategy).toBe("direct");
      expect(r.timings.strategies[0]).toMatchObject({ strategy: "reverse", code: "ERR_LOST_RACE" });
      await expect.poll(() => onZ.find((p) => p.id !== r.id), { timeout: 3000 }).toBeDefined();
      const back = onZ.find((p) => p.id !== r.id)?.pipe as Pipe;
      await new Promise<void>((res) => back.onEnd(() => res()));
      expect(adopted).toEqual([]);
      expect(r.pipe.isOpen).toBe(true);
      expect((await echo(r.pipe, "still here")).toString()).toBe("still here");
    } finally {
      y.off("pipe", onPipe);
      await y.close();
      await z.close();
    }
  });
});
