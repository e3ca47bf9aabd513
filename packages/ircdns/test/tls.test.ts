// TLS is verified by default: a certificate that matches neither the trusted CA nor the pin ends the
// connection before a single line (nick, SASL or NickServ password) is written.
import { randomBytes, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { IRCDNS } from "../src/ircdns.js";
import { DEFAULT_SERVERS, parseServer } from "../src/servers.js";
import { IrcSession, type SessionOptions } from "../src/session.js";
import { type FakeIrcd, startFakeIrcd, testCert } from "./helpers/fake-ircd.js";

const good = testCert("good");
const other = testCert("other");
const pinOf = (pem: string) => new X509Certificate(pem).fingerprint256;

let fake: FakeIrcd;
beforeAll(async () => {
  fake = await startFakeIrcd({ tls: good });
});
afterAll(async () => {
  await fake?.close();
});

function connect(server: string, extra: Partial<SessionOptions> = {}) {
  return IrcSession.connect(parseServer(server), {
    nick: "tlsuser",
    username: "tlsuser",
    // SASL credentials: the first thing a careless client would hand an impostor.
    sasl: { account: "tlsuser", password: "secret-password" },
    connectTimeoutMs: 5000,
    tlsVerify: true,
    ...extra,
  });
}

/** Runs `f`, expecting it to fail with `code`, and checks the server got a connection but no line. */
async function refusedSilently(code: string, f: () => Promise<unknown>): Promise<void> {
  const conns = fake.connections;
  const lines = fake.received.length;
  await expect(f()).rejects.toMatchObject({ code });
  expect(fake.connections).toBeGreaterThan(conns);
  expect(fake.received.slice(lines)).toEqual([]);
}

describe("TLS certificate checks", () => {
  const url = () => `ircs://127.0.0.1:${fake.port}`;

  test("a self-signed certificate is refused by default (ERR_IRCDNS_TLS); nothing is sent", async () => {
    await refusedSilently("ERR_IRCDNS_TLS", () => connect(url()));
  });

  test("a certificate that does not chain to the given CA is refused; nothing is sent", async () => {
    await refusedSilently("ERR_IRCDNS_TLS", () => connect(url(), { tlsCa: other.cert }));
  });

  test("a certificate that does not match the pin is refused; nothing is sent", async () => {
    await refusedSilently("ERR_IRCDNS_TLS", () =>
      connect(`${url()}?sha256=${pinOf(other.cert)}`, { tlsCa: good.cert }),
    );
  });

  test("the right CA, the right pin, or an explicit per-server opt-out connect", async () => {
    for (const [server, extra] of [
      [url(), { tlsCa: good.cert }],
      [`${url()}?sha256=${pinOf(good.cert).replace(/:/g, "").toLowerCase()}`, {}],
      [`${url()}?insecure`, {}],
      [url(), { tlsVerify: false }],
    ] as const) {
      const before = fake.received.length;
      const s = await connect(server, extra);
      try {
        expect(fake.received.slice(before).some((l) => l.startsWith("NICK tlsuser"))).toBe(true);
      } finally {
        await s.close();
      }
    }
  });

  test("a server reached by IP is checked against ?name= (the certificate's host name), not the IP", async () => {
    // The certificate names "localhost": right name connects, another name is refused silently.
    const s = await connect(`${url()}?name=localhost`, { tlsCa: good.cert });
    await s.close();
    await refusedSilently("ERR_IRCDNS_TLS", () =>
      connect(`${url()}?name=irc.example.org`, { tlsCa: good.cert }),
    );
  });

  test("IRCDNS verifies by default: no NickServ or SASL password reaches an unverified server", async () => {
    const lines = fake.received.length;
    const dns = await IRCDNS.start({
      seed: randomBytes(32),
      servers: [url()],
      cacheDir: false,
      connectTimeoutMs: 5000,
    });
    try {
      const err = await dns.register(["tlsname", "tld", ""]).catch((e: Error) => e);
      expect(err).toMatchObject({ code: "ERR_IRCDNS_NO_QUORUM" });
      expect((err as Error).message).toContain("ERR_IRCDNS_TLS");
      expect(fake.received.slice(lines)).toEqual([]);
    } finally {
      await dns.close();
    }
    // Pinned, the same network works, and only then gets the account's password.
    const pinned = await IRCDNS.start({
      seed: randomBytes(32),
      servers: [`${url()}?sha256=${pinOf(good.cert)}`],
      cacheDir: false,
      connectTimeoutMs: 5000,
      serviceTimeoutMs: 2000,
    });
    try {
      await pinned.register(["tlsname", "tld", ""]).catch(() => {});
      expect(fake.received.slice(lines).some((l) => l.startsWith("NICK "))).toBe(true);
    } finally {
      await pinned.close();
    }
  }, 30_000);
});

describe("per-server TLS options", () => {
  const fp = pinOf(good.cert);
  test("?sha256= pins (hex with or without colons), ?insecure opts out, both keep the #domain", () => {
    const hex = fp.replace(/:/g, "").toLowerCase();
    expect(parseServer(`ircs://irc.x.net:6697?sha256=${hex}#irc.x.net`)).toMatchObject({
      tls: true,
      tlsPin: fp,
      domain: "irc.x.net",
    });
    expect(parseServer(`ircs://irc.x.net?insecure`)).toMatchObject({
      tlsVerify: false,
      port: 6697,
    });
    expect(parseServer({ host: "irc.x.net", tls: true, tlsPin: fp })).toMatchObject({ tlsPin: fp });
    expect(parseServer("ircs://irc.x.net")).not.toHaveProperty("tlsVerify");
    expect(parseServer("ircs://192.0.2.7:6697?name=irc.x.net#irc.x.net")).toMatchObject({
      host: "192.0.2.7",
      tlsName: "irc.x.net",
      domain: "irc.x.net",
    });
    expect(parseServer({ host: "192.0.2.7", tls: true, tlsName: "irc.x.net" })).toMatchObject({
      tlsName: "irc.x.net",
    });
  });

  test("the default networks are reached by IP, each checked against its host name, its domain", () => {
    for (const d of DEFAULT_SERVERS) {
      const s = parseServer(d);
      expect(isIP(s.host)).toBe(4);
      expect(s).toMatchObject({ tls: true, port: 6697, tlsName: s.domain });
    }
    expect(DEFAULT_SERVERS.map((d) => parseServer(d).domain)).toEqual([
      "irc.phat-net.de",
      "irc.tweakers.net",
      "irc.swiftirc.net",
      "irc.euirc.net",
      "irc.darkmyst.org",
    ]);
  });

  test.each([
    ["irc://irc.x.net?insecure", "plain-text"],
    ["ircs://irc.x.net?sha256=abcd", "64 hex"],
    ["ircs://irc.x.net?verify=no", "unknown server option"],
    [`ircs://irc.x.net?insecure&sha256=${"ab".repeat(32)}`, "cannot also skip"],
    ["irc://192.0.2.7?name=irc.x.net", "plain-text"],
    ["ircs://192.0.2.7?name=bad_name!", "bad TLS name"],
  ])("%s is refused (ERR_IRCDNS_BAD_SERVER)", (input, why) => {
    expect(() => parseServer(input)).toThrow(
      expect.objectContaining({
        code: "ERR_IRCDNS_BAD_SERVER",
        message: expect.stringContaining(why),
      }),
    );
  });
});
