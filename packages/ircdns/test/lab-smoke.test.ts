import { afterAll, beforeAll, expect, test } from "vitest";
import { type Lab, labMissing, startLab } from "../../../labs/irc-lab/lab.js";
import { IRCDNS } from "../src/ircdns.js";

let lab: Lab;
const skip = labMissing();
beforeAll(async () => {
  if (skip) return;
  lab = await startLab({ dir: "/tmp/ircdns-lab-smoke", portOffset: 300 });
}, 120_000);
afterAll(async () => {
  await lab?.stop();
}, 60_000);

test.skipIf(skip)(
  "register, store, lookup",
  async () => {
    const seed = new Uint8Array(32).fill(7);
    seed[0] = Math.floor(Math.random() * 256);
    seed[1] = Math.floor(Math.random() * 256);
    const log = (m: string) => console.log(m);
    const dns = await IRCDNS.start({
      seed,
      servers: lab.serverList,
      cacheDir: "/tmp/ircdns-cache-smoke",
      log,
    });
    try {
      let t = Date.now();
      const r = await dns.register(["smoke", "test", ""]);
      console.log("register", Date.now() - t, JSON.stringify(r));
      t = Date.now();
      const st = await dns.store("hello world", ["smoke", "test", ""]);
      console.log("store", Date.now() - t, JSON.stringify(st));
      const reader = await IRCDNS.start({ servers: lab.serverList });
      t = Date.now();
      const l = await reader.lookup(["smoke", "test"]);
      console.log("lookup", Date.now() - t, JSON.stringify(l));
      expect(l.value).toBe("hello world");
      await reader.close();
    } finally {
      await dns.close();
    }
  },
  120_000,
);
