import { describe, expect, test } from "vitest";
import { type Pipe, type QueueBudget, wrapSocket } from "../src/index.js";
import { parseSub, Subscription } from "../src/subscription.js";
import { socketPair } from "./wrap-helpers.js";

const msg = (n: number) => ({
  data: Buffer.alloc(n),
  from: { host: "127.0.0.1", port: 1, family: 4 as const },
  // The queue never looks at the pipe.
  pipe: undefined as unknown as Pipe,
});

describe("queue byte bounds", () => {
  test("maxQueueBytes: drop-oldest keeps the newest within the byte bound", () => {
    const s = new Subscription(parseSub(undefined), {
      maxQueue: 1000,
      maxQueueBytes: 1000,
      overflow: "drop-oldest",
    });
    for (let i = 0; i < 50; i++) s.push(msg(100));
    expect(s.bytes).toBeLessThanOrEqual(1000);
    expect(s.size).toBe(10);
    expect(s.dropped).toBe(40);
  });

  test("a shared budget bounds many queues together; closing one gives its share back", () => {
    const budget: QueueBudget = { maxBytes: 1000, used: 0 };
    const qs = [1, 2, 3].map(
      () => new Subscription(parseSub(undefined), { maxQueue: 0, overflow: "drop-oldest", budget }),
    );
    for (let i = 0; i < 30; i++) qs[i % 3]?.push(msg(100));
    expect(budget.used).toBe(1000);
    qs[0]?.close(new Error("x"));
    expect(budget.used).toBeLessThan(1000);
  });

  test("a TCP pipe whose queue holds messages stops reading while the budget is spent", async () => {
    const { client, accepted, server } = await socketPair();
    const budget: QueueBudget = { maxBytes: 64 * 1024, used: 0 };
    const pipe = wrapSocket(accepted, { queueBudget: budget, autoSubscribe: true });
    const frame = Buffer.alloc(4 + 16 * 1024);
    frame.writeUInt32BE(16 * 1024);
    // 16 MiB offered; nobody reads: the pipe must stop reading near the budget.
    let writable = true;
    for (let i = 0; i < 1024 && writable; i++) writable = client.write(frame);
    await new Promise((r) => setTimeout(r, 300));
    expect(budget.used).toBeLessThanOrEqual(64 * 1024 + 16 * 1024);
    expect(accepted.isPaused()).toBe(true);
    // A reader catches up: reading resumes and messages flow again.
    for (let i = 0; i < 10; i++) await pipe.recv({ timeoutMs: 2000 });
    expect(accepted.isPaused()).toBe(false);
    client.destroy();
    await pipe.close();
    server.close();
  });
});
