import { afterAll, beforeAll, expect, test } from "vitest";
import { type P2PNode, startNode } from "../src/index.js";

let a: P2PNode;
let b: P2PNode;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  a = await startNode({ interfaces: "loopback" });
  b = await startNode({ interfaces: "loopback", mqtt: a.brokerUrl });
});

afterAll(async () => {
  await b?.close();
  await a?.close();
  process.off("unhandledRejection", onUnhandled);
});

// Losers of a race are aborted while they may still await a signaling send: their pending
// answers must never surface as unhandled rejections (they once did, about 2 runs in 5).
test("racing direct and reverse with no stagger leaves no unhandled rejection", async () => {
  for (let i = 0; i < 15; i++) {
    const r = await b.connect(a.address, { staggerMs: 0, strategies: ["direct", "reverse"] });
    expect(["direct", "reverse"]).toContain(r.strategy);
    await r.pipe.close();
  }
  await new Promise((r) => setTimeout(r, 300));
  expect(unhandled).toEqual([]);
}, 30_000);
