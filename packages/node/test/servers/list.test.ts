import { mkdtemp, writeFile } from "node:fs/promises";
import { BlockList, isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SERVERS } from "@p2pd/ircdns";
import { describe, expect, it } from "vitest";
import {
  configPath,
  effectiveIrcServers,
  effectiveServers,
  loadServerConfig,
  parseServerConfig,
} from "../../src/servers/config.js";
import { ServerConfigError } from "../../src/servers/errors.js";
import { bundledServers, validateServerLists } from "../../src/servers/list.js";
import bundledDoc from "../../src/servers/servers.json" with { type: "json" };

// Ranges no bundled (public) server may sit in: loopback, private, CGNAT, link-local, docs, multicast.
const notPublic = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["192.0.2.0", 24],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 3],
] as const)
  notPublic.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["2001:db8::", 32],
  ["ff00::", 8],
] as const)
  notPublic.addSubnet(net, bits, "ipv6");

function codeAndMessage(f: () => unknown): { code: string; message: string; field: string } {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ServerConfigError);
    const err = e as ServerConfigError;
    return { code: err.code, message: err.message, field: err.field };
  }
  throw new Error("did not throw");
}

describe("bundled server lists", () => {
  const lists = bundledServers();

  it("validate, and hold enough of each kind to choose from", () => {
    expect(lists.stun.filter((s) => s.altIp !== null).length).toBeGreaterThanOrEqual(20);
    expect(lists.mqtt.length).toBeGreaterThanOrEqual(4);
    expect(lists.turn.length).toBeGreaterThanOrEqual(1);
  });

  it("are IP literals of public addresses with their family, and every entry has a date", () => {
    for (const e of [...lists.stun, ...lists.mqtt, ...lists.turn]) {
      expect(isIP(e.ip)).toBe(e.family);
      expect(notPublic.check(e.ip, e.family === 4 ? "ipv4" : "ipv6")).toBe(false);
      expect(e.lastSeen).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    for (const s of lists.stun)
      if (s.altIp) expect(notPublic.check(s.altIp, s.family === 4 ? "ipv4" : "ipv6")).toBe(false);
  });

  it("ship no credentials taken from other applications (TURN user/pass only where public)", () => {
    // The only bundled relay is P2PD's own, published without credentials (see the file's notes).
    for (const t of lists.turn) expect([t.user, t.pass]).toEqual([null, null]);
    expect(JSON.stringify(bundledDoc.notes)).toMatch(/left out/);
  });

  it("say where they come from and that the dates are the source's commit date", () => {
    const notes = bundledDoc.notes.join(" ");
    expect(notes).toContain("430a32316739c73f3e717a0eed3c46edd7662a04");
    expect(notes).toContain("2025-10-21");
  });

  it("a broken document is a typed error naming the field", () => {
    const doc = structuredClone(bundledDoc) as { stun: { port: unknown }[] };
    (doc.stun[3] as { port: unknown }).port = 70000;
    expect(codeAndMessage(() => validateServerLists(doc, "x.json"))).toEqual({
      code: "ERR_BAD_SERVER_LIST",
      field: "stun[3].port",
      message: "x.json: stun[3].port: not a port (1-65535): 70000",
    });
    const dup = structuredClone(bundledDoc) as { mqtt: unknown[] };
    dup.mqtt.push(dup.mqtt[0]);
    expect(codeAndMessage(() => validateServerLists(dup)).field).toBe(
      `mqtt[${dup.mqtt.length - 1}]`,
    );
    const host = structuredClone(bundledDoc) as { turn: { url: string }[] };
    (host.turn[0] as { url: string }).url = "turn:relay.example:3478";
    // Bundled entries are IP literals: starting must not need DNS.
    expect(codeAndMessage(() => validateServerLists(host)).field).toBe("turn[0].url");
  });
});

describe("config file", () => {
  it("is $P2PD_CONFIG, else $XDG_CONFIG_HOME/p2pd/config.json, else ~/.config", () => {
    expect(configPath({ P2PD_CONFIG: "/a/b.json", XDG_CONFIG_HOME: "/x" })).toEqual({
      path: "/a/b.json",
      explicit: true,
    });
    expect(configPath({ XDG_CONFIG_HOME: "/x" })).toEqual({
      path: "/x/p2pd/config.json",
      explicit: false,
    });
    expect(configPath({ HOME: "/h" }).path).toBe("/h/.config/p2pd/config.json");
  });

  it("replaces a list (bare array) or extends it, short strings or full entries", () => {
    const cfg = parseServerConfig(
      JSON.stringify({
        stun: [
          "127.0.0.1:3478",
          { ip: "127.0.0.2", port: 3478, altIp: "127.0.0.3", altPort: 3479 },
        ],
        mqtt: { extend: ["mqtt://broker.lan:1883", "mqtt://[::1]:1884"] },
        turn: { replace: [{ url: "turn:10.0.0.1:3478", user: "u", pass: "p" }] },
      }),
      "cfg.json",
    );
    const eff = effectiveServers(cfg);
    expect(eff.stun).toEqual([
      { ip: "127.0.0.1", port: 3478, altIp: null, altPort: null, family: 4, transport: "udp" },
      {
        ip: "127.0.0.2",
        port: 3478,
        altIp: "127.0.0.3",
        altPort: 3479,
        family: 4,
        transport: "udp",
      },
    ]);
    const bundled = bundledServers();
    expect(eff.mqtt.slice(0, bundled.mqtt.length)).toEqual(bundled.mqtt);
    expect(eff.mqtt.slice(bundled.mqtt.length).map((m) => m.url)).toEqual([
      "mqtt://broker.lan:1883",
      "mqtt://[::1]:1884",
    ]);
    expect(eff.turn).toEqual([
      {
        url: "turn:10.0.0.1:3478",
        ip: "10.0.0.1",
        port: 3478,
        family: 4,
        user: "u",
        pass: "p",
        realm: null,
      },
    ]);
    // No config: the bundled lists.
    expect(effectiveServers(undefined)).toEqual(bundled);
  });

  it("a bad file is a one-line ERR_BAD_CONFIG naming the file and the field", () => {
    const cases: [unknown, string][] = [
      ["{not json", ""],
      [[1, 2], ""],
      [{ stunn: [] }, "stunn"],
      [{ stun: "1.2.3.4:3478" }, "stun"],
      [{ stun: ["1.2.3.4"] }, "stun[0]"],
      [{ stun: [{ ip: "1.2.3.4", port: 0 }] }, "stun[0].port"],
      [{ stun: [{ ip: "1.2.3.4", port: 1, altPort: 2 }] }, "stun[0].altPort"],
      [{ mqtt: { extend: ["http://x:1"] } }, "mqtt.extend[0].url"],
      [{ mqtt: { add: [] } }, "mqtt"],
      [{ turn: [{ url: "turn:1.2.3.4:3478", user: "u" }] }, "turn[0].pass"],
      [{ stun: [{ ip: "::1", port: 1, family: 4 }] }, "stun[0].ip"],
      [{ irc: [42] }, "irc[0]"],
      [{ irc: { extend: ["ircs://10.0.0.7:99999"] } }, "irc.extend[0]"],
      [{ irc: ["ircs://10.0.0.7:6697", `${"a".repeat(600)}:6667`] }, "irc[1]"],
    ];
    for (const [doc, field] of cases) {
      const text = typeof doc === "string" ? doc : JSON.stringify(doc);
      const r = codeAndMessage(() => parseServerConfig(text, "/etc/p.json"));
      expect(r.code).toBe("ERR_BAD_CONFIG");
      expect(r.field).toBe(field);
      expect(r.message.startsWith(`/etc/p.json: ${field ? `${field}: ` : ""}`)).toBe(true);
      expect(r.message).not.toContain("\n");
    }
  });

  it("irc: the networks for names replace or extend @p2pd/ircdns DEFAULT_SERVERS", () => {
    const mine = "ircs://10.0.0.7:6697?name=irc.example.org";
    expect(effectiveIrcServers(undefined)).toEqual([...DEFAULT_SERVERS]);
    const replaced = parseServerConfig(JSON.stringify({ irc: [mine, mine] }), "/etc/p.json");
    expect(effectiveIrcServers(replaced)).toEqual([mine]);
    const extended = parseServerConfig(
      JSON.stringify({ irc: { extend: [mine, DEFAULT_SERVERS[0]] } }),
      "/etc/p.json",
    );
    expect(effectiveIrcServers(extended)).toEqual([...DEFAULT_SERVERS, mine]);
  });

  it("loads from disk: a missing default file is no config, a missing P2PD_CONFIG is an error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "p2pd-cfg-"));
    expect(await loadServerConfig({ env: { XDG_CONFIG_HOME: dir } })).toBeUndefined();
    const missing = join(dir, "nope.json");
    await expect(loadServerConfig({ env: { P2PD_CONFIG: missing } })).rejects.toMatchObject({
      code: "ERR_BAD_CONFIG",
      file: missing,
      message: `${missing}: cannot read (ENOENT)`,
    });
    const file = join(dir, "c.json");
    await writeFile(file, JSON.stringify({ mqtt: ["mqtt://127.0.0.1:1883"] }));
    const cfg = await loadServerConfig({ env: { P2PD_CONFIG: file } });
    expect(cfg?.mqtt?.servers.map((m) => m.url)).toEqual(["mqtt://127.0.0.1:1883"]);
    await writeFile(file, "x".repeat((1 << 20) + 1));
    await expect(loadServerConfig({ path: file })).rejects.toMatchObject({
      code: "ERR_BAD_CONFIG",
    });
  });
});

describe("network safety net", () => {
  it("with P2PD_FORBID_PUBLIC_SERVERS=1 (set by every vitest config) probing a bundled server throws", async () => {
    expect(process.env.P2PD_FORBID_PUBLIC_SERVERS).toBe("1");
    const { chooseServers } = await import("../../src/servers/choose.js");
    const { checkServers } = await import("../../src/servers/check.js");
    await expect(chooseServers({ lists: bundledServers() })).rejects.toMatchObject({
      code: "ERR_PUBLIC_SERVER",
    });
    const one = bundledServers();
    await expect(
      checkServers({ stun: [], mqtt: one.mqtt.slice(0, 1), turn: [] }),
    ).rejects.toMatchObject({ code: "ERR_PUBLIC_SERVER" });
  });
});
