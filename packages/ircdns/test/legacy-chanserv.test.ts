// The older ChanServ forms some of P2PD's default networks use (`REGISTER #chan <password> <description>`,
// `SET #chan TOPIC t`), learnt per network from ChanServ's own replies. No Debian services package speaks
// them (the lab's Anope 2.0 and Atheme 7 are both modern), so these networks are scripted with the
// wording of IRCServices / Anope 1.8 (helpers/fake-ircd.ts, `legacy`), next to a modern one.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { deriveChannel, deriveChanPassword, deriveSigningKey } from "../src/derive.js";
import { IRCDNS } from "../src/ircdns.js";
import { parseServer } from "../src/servers.js";
import { redactLine } from "../src/session.js";
import { signerId, unpackTopic } from "../src/topic.js";
import { type FakeIrcd, startFakeIrcd } from "./helpers/fake-ircd.js";

let legacyA: FakeIrcd;
let legacyB: FakeIrcd;
let modern: FakeIrcd;
const seed = randomBytes(32);
const name = ["my awesome name", "cats", ""] as const;

beforeAll(async () => {
  [legacyA, legacyB, modern] = await Promise.all([
    startFakeIrcd({ legacy: true }),
    // Another wording seen on older services: no syntax line, only this.
    startFakeIrcd({ legacy: true, legacyRegisterReply: "Insufficient parameters for REGISTER." }),
    startFakeIrcd(),
  ]);
});
afterAll(async () => {
  await Promise.all([legacyA, legacyB, modern].map((n) => n?.close()));
});

const domainOf = (n: FakeIrcd) => parseServer(`127.0.0.1:${n.port}`).domain;
const chanOf = (n: FakeIrcd) => deriveChannel(name[0], name[1], name[2], domainOf(n)).chan;
const chanServ = (n: FakeIrcd) =>
  n.received.filter((l) => l.startsWith("PRIVMSG ChanServ :")).map((l) => l.slice(18));

describe("older ChanServ command forms, detected per network", () => {
  test("register, store twice and look up across two legacy networks and a modern one", async () => {
    const dns = await IRCDNS.start({
      seed,
      servers: [legacyA, legacyB, modern].map((n) => `127.0.0.1:${n.port}`),
      cacheDir: false,
      serviceTimeoutMs: 3000,
    });
    try {
      const reg = await dns.register(name);
      expect(reg.succeeded).toBe(3);
      for (const n of [legacyA, legacyB]) {
        const chan = chanOf(n);
        // P2PD's channel password (deriveChanPassword) and its literal description.
        expect(n.registered.get(chan)).toEqual({
          founder: expect.any(String),
          password: deriveChanPassword(chan, domainOf(n), seed),
          description: "desc",
        });
        const cmds = chanServ(n).filter((c) => c.startsWith("REGISTER"));
        expect(cmds).toEqual([
          `REGISTER ${chan}`,
          `REGISTER ${chan} ${deriveChanPassword(chan, domainOf(n), seed)} desc`,
        ]);
        expect(chanServ(n)).toContain(`SET ${chan} KEEPTOPIC ON`);
        // The debug trace never shows the channel password.
        expect(redactLine(`PRIVMSG ChanServ :${cmds[1]}`)).toBe(
          `PRIVMSG ChanServ :REGISTER ${chan} [redacted]`,
        );
      }
      // The modern network never saw a password.
      expect(chanServ(modern).filter((c) => c.startsWith("REGISTER"))).toEqual([
        `REGISTER ${chanOf(modern)}`,
      ]);

      const first = await dns.store("203.0.113.7:4000", name);
      expect(first.succeeded).toBe(3);
      await dns.store("203.0.113.7:4001", name);
      const key = signerId(deriveSigningKey(name[0], name[1], name[2], seed).priv);
      for (const n of [legacyA, legacyB]) {
        const chan = chanOf(n);
        const topics = chanServ(n).filter((c) => /^(TOPIC|SET \S+ TOPIC) /.test(c));
        // One plain TOPIC ("Unknown command"), then the SET form, remembered for the second store.
        expect(topics.map((c) => c.split(" ").slice(0, 3).join(" "))).toEqual([
          `TOPIC ${chan} p2pd.net/irc`,
          `SET ${chan} TOPIC`,
          `SET ${chan} TOPIC`,
        ]);
        const stored = n.stored.get(chan) ?? "";
        const { timeLock } = deriveChannel(name[0], name[1], name[2], domainOf(n));
        const rec = unpackTopic(stored, timeLock);
        expect(rec.ids).toContain(key);
        expect(rec.value).toBe("203.0.113.7:4001");
        n.plant(chan, stored); // served on JOIN from now on
      }
      expect(chanServ(modern).filter((c) => c.startsWith("SET") && c.includes(" TOPIC "))).toEqual(
        [],
      );
      modern.plant(chanOf(modern), modern.stored.get(chanOf(modern)) ?? "");

      const reader = await IRCDNS.start({
        servers: [legacyA, legacyB, modern].map((n) => `127.0.0.1:${n.port}`),
        cacheDir: false,
      });
      try {
        const r = await reader.lookup("my awesome name.cats");
        expect(r.value).toBe("203.0.113.7:4001");
        expect(r.agreeing.length).toBe(3);
      } finally {
        await reader.close();
      }
    } finally {
      await dns.close();
    }
  }, 60_000);
});
