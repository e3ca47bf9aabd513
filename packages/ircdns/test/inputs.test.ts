import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { checkSeed, deriveAccount } from "../src/derive.js";
import {
  BadNameError,
  BadSeedError,
  BadServerError,
  BadValueError,
  IrcDnsError,
} from "../src/errors.js";
import { IRCDNS } from "../src/ircdns.js";
import { checkValue, parseName } from "../src/names.js";
import { DEFAULT_SERVERS, parseServer, parseServerList } from "../src/servers.js";
import { redactLine } from "../src/session.js";
import { maxTopicLength, maxValueBytes } from "../src/topic.js";

describe("bad input gives typed errors", () => {
  test("seeds", async () => {
    expect(() => checkSeed(new Uint8Array(23))).toThrow(BadSeedError);
    expect(() => checkSeed("a string seed")).toThrow(BadSeedError);
    expect(() => deriveAccount(new Uint8Array(3), "x")).toThrow(BadSeedError);
    await expect(
      IRCDNS.start({ seed: new Uint8Array(10), servers: "127.0.0.1:1" }),
    ).rejects.toMatchObject({
      code: "ERR_IRCDNS_BAD_SEED",
    });
    const dns = await IRCDNS.start({ servers: "127.0.0.1:1", cacheDir: false });
    await expect(dns.register(["a", "b"])).rejects.toBeInstanceOf(BadSeedError);
    await dns.close();
    await expect(dns.lookup(["a", "b"])).rejects.toMatchObject({ code: "ERR_IRCDNS_CLOSED" });
  });

  test("names", () => {
    expect(() => parseName(["日本", "tld"])).toThrow(BadNameError); // nothing left after the ASCII drop
    expect(() => parseName(["a\r\nb", "tld"])).toThrow(BadNameError);
    expect(() => parseName(["", "tld"])).toThrow(BadNameError);
    expect(() => parseName(["a", "t", "ü"])).toThrow(BadNameError);
    expect(parseName(["a b", "café"])).toEqual({ name: "a b", tld: "café", pw: "" }); // as P2PD
    expect(() => parseName("nodot")).toThrow(BadNameError);
    expect(parseName("my.name.node")).toEqual({ name: "my.name", tld: "node", pw: "" });
    expect(parseName({ name: "a", tld: "b", pw: "p w" })).toEqual({
      name: "a",
      tld: "b",
      pw: "p w",
    });
  });
});

describe("values, servers and sizes", () => {
  test("values must be ASCII", () => {
    expect(() => checkValue("naïve")).toThrow(BadValueError);
    expect(() => checkValue(42)).toThrow(BadValueError);
    expect(checkValue("1.2.3.4:80 ok")).toBe("1.2.3.4:80 ok");
  });

  test("server lists", () => {
    expect(parseServer("127.0.0.1:16667")).toMatchObject({
      host: "127.0.0.1",
      port: 16667,
      tls: false,
      domain: "127.0.0.1:16667",
    });
    expect(parseServer("ircs://irc.example.org:6697")).toMatchObject({
      tls: true,
      domain: "irc.example.org",
    });
    expect(parseServer("[::1]:6667")).toMatchObject({ host: "::1", port: 6667, domain: "::1" });
    expect(parseServerList("a:1, ircs://b:2")).toHaveLength(2);
    expect(DEFAULT_SERVERS.map((s) => parseServer(s).domain)).toContain("irc.phat-net.de");
    for (const bad of ["", "http://x:1", "x:99999", "::1:6667", "a b:1"]) {
      expect(() => parseServerList(bad)).toThrow(BadServerError);
    }
  });

  test("topic size bounds match the spec table within the worst-case margin", () => {
    // spec 5: ~93 + 1.227 * (8 + len); our bound adds the worst-case leading-zero pairs.
    expect(maxValueBytes(307)).toBeGreaterThanOrEqual(160);
    expect(maxValueBytes(307)).toBeLessThanOrEqual(166);
    expect(maxTopicLength(maxValueBytes(390))).toBeLessThanOrEqual(390);
    expect(maxValueBytes(50)).toBe(-1);
  });
});

describe("explicit network identity", () => {
  test("#domain pins the derivation domain for any address of the network", () => {
    const a = parseServer("127.0.0.1:16667#irc.alpha.lab");
    const b = parseServer("ircs://[::1]:16697#irc.alpha.lab");
    expect(a.domain).toBe("irc.alpha.lab");
    expect(b).toMatchObject({ host: "::1", port: 16697, tls: true, domain: "irc.alpha.lab" });
    expect(() => parseServer("127.0.0.1:1#bad domain")).toThrow(BadServerError);
  });
});

describe("parsers never crash", () => {
  test("server entries and names: a parsed value or a typed error, for any string", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.anything()), (x) => {
        for (const f of [parseServer, parseServerList, parseName]) {
          try {
            f(x as never);
          } catch (e) {
            expect(e).toBeInstanceOf(IrcDnsError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

test("IRCDNS.start refuses servers that are neither a list nor a string", async () => {
  for (const servers of [42, {}, true]) {
    await expect(
      IRCDNS.start({ servers: servers as never, cacheDir: false }),
    ).rejects.toBeInstanceOf(BadServerError);
  }
});

describe("debug trace (IRCDNS_TRACE) never carries credentials", () => {
  test("NickServ REGISTER/IDENTIFY, SASL, PASS and password-echoing notices are cut", () => {
    const secret = "S3cretPassw0rdS3cretPassw0rdXY";
    for (const line of [
      `PRIVMSG NickServ :REGISTER ${secret} e@p2pd.net`,
      `PRIVMSG NickServ :IDENTIFY nABC ${secret}`,
      `privmsg nickserv :identify ${secret}`,
      `AUTHENTICATE ${Buffer.from(`n\0n\0${secret}`).toString("base64")}`,
      `PASS ${secret}`,
      `:NickServ!s@services.beta.lab NOTICE nABC :nABC is now registered to e@p2pd.net, with the password ${secret}.`,
    ]) {
      const out = redactLine(line);
      expect(out).not.toContain(secret);
      expect(out).not.toContain(Buffer.from(`n\0n\0${secret}`).toString("base64"));
      expect(out).toContain("[redacted]");
    }
    expect(redactLine(":irc.x 332 me #c :p2pd.net/irc a b")).toBe(
      ":irc.x 332 me #c :p2pd.net/irc a b",
    );
  });
});
