// StunServer `workers`: extra processes answer on the primary's UDP sockets. The worker script runs
// from the build (dist/server-worker.js), so `pnpm build` must have run (CI builds before testing).
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { describe, expect, test } from "vitest";
import { StunClient, StunServer } from "../src/index.js";
import { rfc5780Loopback } from "./helpers.js";

function processes(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "ProcessWrap").length;
}

describe("StunServer workers", () => {
  test("answers like one process (RFC 5780 included), counts every request, close() releases all", async () => {
    const before = processes();
    const server = await rfc5780Loopback({ workers: 2 });
    expect(processes()).toBe(before + 2);
    const clients = await Promise.all(
      Array.from({ length: 4 }, () => StunClient.udp({ localAddress: "127.0.0.1" })),
    );
    try {
      let sent = 0;
      for (let round = 0; round < 10; round++) {
        await Promise.all(
          clients.map(async (c) => {
            sent++;
            const r = await c.binding(server.primary, { signal: AbortSignal.timeout(5000) });
            expect(r.mapped).toEqual(c.local());
            expect(r.otherAddress).toEqual(server.other);
          }),
        );
      }
      const c = clients[0] as StunClient;
      const both = await c.binding(server.primary, { changeIp: true, changePort: true });
      sent++;
      expect(both.from).toEqual(server.other);
      // Workers report their counters every 100 ms.
      await new Promise((r) => setTimeout(r, 300));
      expect(server.stats.answered).toBeGreaterThanOrEqual(sent);
    } finally {
      for (const c of clients) c.close();
      await server.close();
    }
    expect(processes()).toBe(before);
    // No worker still holds the sockets: the exact ports can be bound exclusively again.
    for (const ep of [server.primary, server.other]) {
      const { host, port } = ep ?? { host: "", port: -1 };
      const s = createSocket("udp4");
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.bind({ address: host, port, exclusive: true }, resolve);
      });
      s.close();
    }
  });

  test("workers keep answering while the primary's event loop is blocked", async () => {
    const server = await new StunServer({
      ips: ["127.0.0.1"],
      port: 0,
      protocols: ["udp"],
      workers: 1,
    }).listen();
    try {
      // A client in another process sends a request every 20 ms and records when answers arrive.
      const script = `
        const s = require("node:dgram").createSocket("udp4");
        const req = Buffer.from("000100002112a442" + "00".repeat(12), "hex");
        const times = [];
        s.on("message", () => times.push(Date.now()));
        const t = setInterval(() => s.send(req, ${server.primary.port}, "127.0.0.1"), 20);
        setTimeout(() => { clearInterval(t); s.close(); console.log(JSON.stringify(times)); }, 3000);`;
      const child = new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ["-e", script], (e, out) => (e ? reject(e) : resolve(out))),
      );
      const blockedFrom = Date.now();
      // Block this event loop (the primary's) for 2.5 s: only a worker can answer meanwhile.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
      const blockedTo = Date.now();
      const times = JSON.parse(await child) as number[];
      const whileBlocked = times.filter((t) => t > blockedFrom + 50 && t < blockedTo - 50);
      expect(whileBlocked.length).toBeGreaterThan(5);
    } finally {
      await server.close();
    }
  });

  test("a bad workers count is refused", () => {
    for (const workers of [-1, 1.5, 65]) {
      expect(() => new StunServer({ ips: ["127.0.0.1"], port: 0, workers })).toThrow(
        expect.objectContaining({ code: "ERR_STUN_BAD_ARGUMENT" }),
      );
    }
  });
});
