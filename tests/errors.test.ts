import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";

// Issue 17: every package's errors share one shape (P2pdError in @p2pd/netifaces; by convention
// in @p2pd/stun and @p2pd/ircdns, which may not depend on @p2pd), and codes mean one thing.
// Reads the built packages (`pnpm test` builds first), so a bundler renaming a class shows here.

const root = dirname(dirname(fileURLToPath(import.meta.url)));
// biome-ignore lint/suspicious/noExplicitAny: modules loaded by path, checked at run time
type Mod = Record<string, any>;
const mods: Record<string, Mod> = {};
const load = async (pkg: string): Promise<Mod> =>
  import(pathToFileURL(join(root, "packages", pkg, "dist/index.js")).href);

beforeAll(async () => {
  for (const p of ["netifaces", "pipe", "nat", "stun", "ircdns", "node", "p2pd"])
    mods[p] = await load(p);
});

const CODE = /^ERR_[A-Z0-9_]+$/;

/** [package, class name, a constructor call]: one error of every base (and a few subclasses). */
const cases: [string, string, (m: Mod, cause: Error) => Error & { code: string }][] = [
  ["netifaces", "P2pdError", (m, cause) => new m.P2pdError("ERR_BAD_ARGUMENT", "x bad", { cause })],
  [
    "netifaces",
    "P2pdNetError",
    (m, cause) => new m.P2pdNetError("ERR_NO_ROUTE", "none", { cause }),
  ],
  ["netifaces", "BadAddressError", (m, cause) => new m.BadAddressError("junk", { cause })],
  ["pipe", "PipeError", (m, cause) => new m.PipeError("ERR_CLOSED", "pipe closed", { cause })],
  ["nat", "NatError", (m, cause) => new m.NatError("ERR_NAT_BIND", "no bind", { cause })],
  [
    "nat",
    "PortMapError",
    (m, cause) => new m.PortMapError("ERR_PORTMAP_TIMEOUT", "silent", { cause }),
  ],
  ["nat", "PortMapTimeoutError", (m, cause) => new m.PortMapTimeoutError("silent", { cause })],
  ["node", "P2pdNodeError", (m, cause) => new m.P2pdNodeError("ERR_BIND", "no bind", { cause })],
  [
    "node",
    "TraversalError",
    (m, cause) => new m.TraversalError("ERR_PUNCH_TIMEOUT", "no hole", { cause }),
  ],
  ["node", "TurnError", (m, cause) => new m.TurnError("ERR_TURN_AUTH", "401", 401, { cause })],
  [
    "node",
    "SignalError",
    (m, cause) => new m.SignalError("ERR_SIGNAL_FORMAT", "not JSON", { cause }),
  ],
  [
    "p2pd",
    "RestError",
    (m, cause) => new m.rest.RestError("ERR_NOT_FOUND", 404, "no route", { cause }),
  ],
  [
    "p2pd",
    "P2pdClientError",
    (m, cause) => new m.P2pdClientError("ERR_HTTP", 0, "refused", { cause }),
  ],
  ["stun", "StunError", (m, cause) => new m.StunError("ERR_STUN_TIMEOUT", "timed out", { cause })],
  [
    "ircdns",
    "IrcDnsError",
    (m, cause) => new m.IrcDnsError("ERR_IRCDNS_TIMEOUT", "no answer", { cause }),
  ],
  [
    "ircdns",
    "SessionError",
    (m, cause) => new m.SessionError("ERR_IRCDNS_LOGIN", "login failed", { cause }),
  ],
  ["ircdns", "NotFoundError", (m) => new m.NotFoundError("no record")],
];

describe("every package's errors have the shared shape", () => {
  for (const [pkg, cls, make] of cases) {
    test(`${pkg} ${cls}: Error, ERR_ code, name, cause, one-line message`, () => {
      const cause = new Error("underlying");
      const e = make(mods[pkg] as Mod, cause);
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toMatch(CODE);
      expect(e.name).toBe(cls);
      if (cls !== "NotFoundError") expect(e.cause).toBe(cause);
      expect(e.message).not.toMatch(/[\r\n]/);
      expect(e.message.length).toBeGreaterThan(0);
      // The duck-typed check recognises all of them, stun's and ircdns' included.
      expect(mods.netifaces?.isP2pdError(e)).toBe(true);
      expect(mods.netifaces?.isP2pdError(e, e.code)).toBe(true);
      expect(mods.netifaces?.isP2pdError(e, "ERR_OTHER")).toBe(false);
    });
  }

  test("every base except stun's and ircdns' is a P2pdError; subclasses keep instanceof", () => {
    const { P2pdError } = mods.netifaces as Mod;
    for (const [pkg, cls, make] of cases) {
      const e = make(mods[pkg] as Mod, new Error("c"));
      expect(e instanceof P2pdError, cls).toBe(pkg !== "stun" && pkg !== "ircdns");
    }
    const node = mods.node as Mod;
    expect(new node.TurnError("ERR_TURN_AUTH", "x")).toBeInstanceOf(node.P2pdNodeError);
    expect(new node.TraversalError("ERR_CLOCK", "x")).toBeInstanceOf(node.P2pdNodeError);
    expect(new node.AddressError("x")).toMatchObject({ code: "ERR_BAD_ADDRESS" });
    const nat = mods.nat as Mod;
    expect(new nat.DoubleNatError("10.0.0.1", "private")).toBeInstanceOf(nat.PortMapError);
  });

  test("isP2pdError refuses what is not a p2pd error", () => {
    const { isP2pdError } = mods.netifaces as Mod;
    const nodeErr = Object.assign(new TypeError("bad"), { code: "ERR_INVALID_ARG_TYPE" });
    for (const e of [nodeErr, new Error("x"), { code: "ERR_X", message: "m" }, null, "ERR_X"])
      expect(isP2pdError(e)).toBe(false);
  });

  test("@p2pd/stun and @p2pd/ircdns do not import @p2pd (shape by convention only)", () => {
    for (const pkg of ["stun", "ircdns"]) {
      const dir = join(root, "packages", pkg);
      const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      const deps = { ...json.dependencies, ...json.peerDependencies };
      expect(Object.keys(deps).filter((d) => d.startsWith("@p2pd/") || d === "p2pd")).toEqual([]);
      for (const f of readdirSync(join(dir, "src"), { recursive: true }) as string[]) {
        if (!f.endsWith(".ts")) continue;
        expect(readFileSync(join(dir, "src", f), "utf8"), f).not.toMatch(/from\s+["']@?p2pd/);
      }
    }
  });
});

describe("error codes are consistent across packages", () => {
  const lists = (): Record<string, readonly string[]> => ({
    "@p2pd/netifaces": mods.netifaces?.NET_ERROR_CODES,
    "@p2pd/pipe": mods.pipe?.PIPE_ERROR_CODES,
    "@p2pd/nat": mods.nat?.NAT_ERROR_CODES,
    "@p2pd/nat portmap": mods.nat?.PORTMAP_ERROR_CODES,
    "@p2pd/stun": mods.stun?.STUN_ERROR_CODES,
    "@p2pd/ircdns": mods.ircdns?.IRCDNS_ERROR_CODES,
    "@p2pd/node": mods.node?.NODE_ERROR_CODES,
    "p2pd rest": mods.p2pd?.rest.REST_ERROR_CODES,
    "p2pd rest client": mods.p2pd?.rest.CLIENT_ERROR_CODES,
  });

  // A code in two packages' lists must mean the same thing in both: these do, on purpose.
  const SHARED: Record<string, string> = {
    ERR_ABORTED: "the caller's AbortSignal fired",
    ERR_BAD_ADDRESS: "a malformed address (IP, CIDR, P2P address)",
    ERR_BAD_ARGUMENT: "an argument out of its domain",
    ERR_BAD_PORT: "a port outside 0-65535",
    ERR_BAD_FRAME: "a peer sent a frame that does not decode",
    ERR_BAD_REGEX: "a subscription regex that does not compile or is refused",
    ERR_BIND: "cannot bind or listen",
    ERR_CLOSED: "used after close(), or closed while waiting",
    ERR_CONNECT: "could not connect",
    ERR_CONNECT_TIMEOUT: "connecting took longer than allowed",
    ERR_MSG_TOO_LARGE: "a message over the size limit",
    ERR_NOT_SUBSCRIBED: "recv on a subscription never made",
    ERR_RECV_TIMEOUT: "no message arrived in time",
    ERR_SEND: "sending failed",
    ERR_STUN_TIMEOUT: "a STUN request got no answer",
    ERR_TIMEOUT: "an overall deadline passed",
  };

  test("every list exists, codes look like ERR_..., and none repeats within a package", () => {
    for (const [pkg, codes] of Object.entries(lists())) {
      expect(Array.isArray(codes), pkg).toBe(true);
      expect(codes.length, pkg).toBeGreaterThan(0);
      for (const c of codes) expect(c, pkg).toMatch(CODE);
      expect(new Set(codes).size, pkg).toBe(codes.length);
    }
  });

  test("a code in two packages is one of the shared codes with one meaning", () => {
    const seen = new Map<string, string[]>();
    for (const [pkg, codes] of Object.entries(lists()))
      for (const c of codes) seen.set(c, [...(seen.get(c) ?? []), pkg]);
    const unexplained = [...seen].filter(([c, pkgs]) => pkgs.length > 1 && !(c in SHARED));
    expect(unexplained).toEqual([]);
  });

  test("standalone packages keep their prefix", () => {
    const l = lists();
    for (const c of l["@p2pd/stun"] ?? []) expect(c).toMatch(/^ERR_STUN_/);
    for (const c of l["@p2pd/ircdns"] ?? []) expect(c).toMatch(/^ERR_IRCDNS_/);
    for (const c of l["@p2pd/nat"] ?? []) expect(c).toMatch(/^ERR_NAT_/);
    for (const c of l["@p2pd/nat portmap"] ?? []) expect(c).toMatch(/^ERR_(PORTMAP_|DOUBLE_NAT$)/);
  });

  test("the old spellings are gone from every list", () => {
    const all = new Set(Object.values(lists()).flat());
    const old = [
      "ERR_BAD_ADDR",
      "ERR_BAD_ARG",
      "ERR_INVALID_ARGUMENT",
      "ERR_MESSAGE_TOO_LARGE",
      "ERR_STREAM_CLOSED",
      "ERR_PIPE_CLOSED",
      "ERR_NODE_CLOSED",
      "ERR_FRAME_DECODE",
      "ERR_PUNCH_ABORTED",
      "ERR_TURN_ABORTED",
      "ERR_NAT_INVALID_ARG",
      "ERR_STUN_INVALID_ARG",
    ];
    expect(old.filter((c) => all.has(c))).toEqual([]);
  });
});
