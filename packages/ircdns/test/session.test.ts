// Session behaviour against a scripted loopback IRC server (no lab needed) and the pacer with fake timers.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, test, vi } from "vitest";
import { deriveChannel, deriveSigningKey } from "../src/derive.js";
import { IRCDNS } from "../src/ircdns.js";
import { Pacer } from "../src/pacer.js";
import { parseServer } from "../src/servers.js";
import { IrcSession, type SessionOptions } from "../src/session.js";
import { packTopic } from "../src/topic.js";
import { type FakeIrcd, startFakeIrcd } from "./helpers/fake-ircd.js";

/** A session with `nick` on the scripted network. */
function fakeSession(fake: FakeIrcd, nick: string, extra: Partial<SessionOptions> = {}) {
  return IrcSession.connect(parseServer(`127.0.0.1:${fake.port}`), {
    nick,
    username: nick,
    connectTimeoutMs: 5000,
    tlsVerify: false,
    ...extra,
  });
}

describe("reading a topic that services restore after the JOIN", () => {
  test("no 332, then a ChanServ TOPIC 200 ms later: the lookup still finds it", async () => {
    const fake = await startFakeIrcd({ restoreMs: 200 });
    try {
      const name = ["late", "tld", ""] as const;
      const domain = `127.0.0.1:${fake.port}`;
      const { chan, timeLock } = deriveChannel(name[0], name[1], name[2], domain);
      const { priv } = deriveSigningKey(name[0], name[1], name[2], randomBytes(32));
      fake.plant(chan, packTopic({ value: "restored", priv, timeLock, time: 1_700_000_000 }));
      const dns = await IRCDNS.start({ servers: [domain] });
      try {
        const r = await dns.lookup(name);
        expect(r.value).toBe("restored");
        expect(r.quorum.lookupSuccessMin).toBe(1);
      } finally {
        await dns.close();
      }
    } finally {
      await fake.close();
    }
  });

  test("nothing restored: NotFound after the restore wait, not a hang", async () => {
    const fake = await startFakeIrcd({ restoreMs: 50 });
    try {
      const dns = await IRCDNS.start({ servers: [`127.0.0.1:${fake.port}`], topicRestoreMs: 300 });
      try {
        await expect(dns.lookup(["nobody", "tld"])).rejects.toMatchObject({
          code: "ERR_IRCDNS_NOT_FOUND",
        });
      } finally {
        await dns.close();
      }
    } finally {
      await fake.close();
    }
  });
});

describe("concurrent reads of one channel", () => {
  test("a second lookup while the first waits for a restore does not JOIN again", async () => {
    // Real servers (and this fake) do not answer a JOIN to a channel one is in: a second JOIN would wait
    // for a 366 that never comes. The second read sees the membership and asks TOPIC instead.
    const fake = await startFakeIrcd({ restoreMs: 100 });
    try {
      const dns = await IRCDNS.start({
        servers: [`127.0.0.1:${fake.port}`],
        topicRestoreMs: 600,
        serviceTimeoutMs: 1500,
      });
      try {
        const first = dns.lookup(["empty", "tld"]).catch((e: { code?: string }) => e.code);
        await new Promise((r) => setTimeout(r, 300));
        const second = dns.lookup(["empty", "tld"]).catch((e: { code?: string }) => e.code);
        expect(await Promise.all([first, second])).toEqual([
          "ERR_IRCDNS_NOT_FOUND",
          "ERR_IRCDNS_NOT_FOUND",
        ]);
      } finally {
        await dns.close();
      }
    } finally {
      await fake.close();
    }
  });
});

describe("IrcSession", () => {
  test("never sends a line over 510 bytes, nor one with CR/LF", async () => {
    const fake = await startFakeIrcd();
    const s = await fakeSession(fake, "tester");
    try {
      expect(s.serverName).toBe("irc.fake.lab");
      expect(s.topicLen).toBe(390);
      await expect(s.send(`PRIVMSG x :${"a".repeat(500)}`)).rejects.toMatchObject({
        code: "ERR_IRCDNS_LINE_TOO_LONG",
      });
      await expect(s.send("PRIVMSG x :a\r\nQUIT")).rejects.toMatchObject({
        code: "ERR_IRCDNS_BAD_LINE",
      });
    } finally {
      await s.close();
      await fake.close();
    }
    await expect(s.send("PING x")).rejects.toMatchObject({ code: "ERR_IRCDNS_CLOSED" });
  });

  test("a refused port is ERR_IRCDNS_CONNECT", async () => {
    const fake = await startFakeIrcd();
    const port = fake.port;
    await fake.close();
    await expect(
      IrcSession.connect(parseServer(`127.0.0.1:${port}`), {
        nick: "t",
        username: "t",
        connectTimeoutMs: 5000,
        tlsVerify: false,
      }),
    ).rejects.toMatchObject({ code: "ERR_IRCDNS_CONNECT" });
  });
});

describe("service messages are paced", () => {
  test("over the limit, the next one waits for the window; close() ends the wait", async () => {
    const fake = await startFakeIrcd();
    const s = await fakeSession(fake, "pacer", { servicePace: { limit: 3, windowMs: 60_000 } });
    try {
      const sent = [1, 2, 3, 4].map((i) =>
        s.sendService("ChanServ", `TOPIC #c${i} t${i}`).then(
          () => "sent",
          (e: { code?: string }) => e.code,
        ),
      );
      await Promise.all(sent.slice(0, 3));
      for (let i = 0; i < 200 && fake.stored.size < 3; i++)
        await new Promise((r) => setTimeout(r, 5));
      // A fourth message sent at once would arrive right behind the third; give it the chance to.
      await new Promise((r) => setTimeout(r, 200));
      expect([...fake.stored.keys()].sort()).toEqual(["#c1", "#c2", "#c3"]);
      await s.close();
      expect(await sent[3]).toBe("ERR_IRCDNS_CLOSED");
      expect(fake.stored.size).toBe(3);
    } finally {
      await s.close();
      await fake.close();
    }
  });
});

describe("Pacer (sliding window)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test("at most `limit` sends per window, FIFO, the rest wait for the window to slide", async () => {
    vi.useFakeTimers();
    const p = new Pacer(6, 11_000);
    const done: number[] = [];
    const all = Array.from({ length: 8 }, (_, i) => p.take().then(() => done.push(i)));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toEqual([0, 1, 2, 3, 4, 5]);
    await vi.advanceTimersByTimeAsync(10_999);
    expect(done).toHaveLength(6);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await Promise.all(all);
    p.close();
    await expect(p.take()).rejects.toThrow("pacer closed");
  });
});
