// Names as P2PD accepts them (spaces, UTF-8), derived bit-for-bit like P2PD, and a validator that refuses
// every other byte class with ERR_IRCDNS_BAD_NAME and a stable `reason`.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { deriveChannel, deriveSigningKey } from "../src/derive.js";
import { BadNameError, type BadNameReason } from "../src/errors.js";
import { parseName } from "../src/names.js";
import v from "./vectors/vectors.json" with { type: "json" };

function reasonOf(f: () => unknown): BadNameReason | "accepted" {
  try {
    f();
    return "accepted";
  } catch (e) {
    expect(e).toBeInstanceOf(BadNameError);
    const err = e as BadNameError;
    expect(err.code).toBe("ERR_IRCDNS_BAD_NAME");
    expect(err.message).not.toMatch(/[\r\n\0]/); // one line, whatever the input
    expect(err.message.length).toBeLessThan(200);
    return err.reason;
  }
}

describe("names P2PD accepts", () => {
  test("the seed's own example ['my awesome name', 'cats', ''] and its string form", () => {
    expect(parseName(["my awesome name", "cats", ""])).toEqual({
      name: "my awesome name",
      tld: "cats",
      pw: "",
    });
    expect(parseName("my awesome name.cats")).toEqual({
      name: "my awesome name",
      tld: "cats",
      pw: "",
    });
    expect(parseName({ name: "Grüße, Welt", tld: "node", pw: "pässwort" }).name).toBe(
      "Grüße, Welt",
    );
    expect(parseName(["猫 cat", "🐈 zoo"]).tld).toBe("🐈 zoo");
  });

  test.each(v.channels)("reference vector $name $tld passes parseName and derives $chan", (c) => {
    const n = parseName([c.name, c.tld, c.pw]);
    expect(deriveChannel(n.name, n.tld, n.pw, c.domain).chan).toBe(c.chan);
  });

  test("non-ASCII characters are dropped as P2PD drops them: café and caf are one name", () => {
    const cafe = v.channels.find((c) => c.name === "café");
    if (!cafe) throw new Error("vector missing");
    expect(deriveChannel("caf", "tld", "", cafe.domain).chan).toBe(cafe.chan);
    const seed = new Uint8Array(24).fill(7);
    expect(deriveSigningKey("café", "tld", "", seed).priv).toBe(
      deriveSigningKey("caf", "tld", "", seed).priv,
    );
  });
});

describe("every byte class is checked", () => {
  const classes: [string, string, BadNameReason | "accepted"][] = [
    ["NUL", "a\0b", "control"],
    ["CR", "a\rb", "control"],
    ["LF", "a\nb", "control"],
    ["CRLF injection", "x\r\nPRIVMSG ChanServ :DROP #c", "control"],
    ["TAB", "a\tb", "control"],
    ["ESC", "a\x1bb", "control"],
    ["DEL", "a\x7fb", "control"],
    ["C1 (NEL)", "a\u0085b", "control"],
    ["lone high surrogate", "a\ud800b", "not_utf8"],
    ["lone low surrogate", "a\udc00", "not_utf8"],
    ["only non-ASCII", "日本", "no_ascii"],
    ["space", "a b", "accepted"],
    ["only spaces", "   ", "accepted"],
    ["Latin-1", "café", "accepted"],
    ["CJK + ASCII", "日本 x", "accepted"],
    ["astral (emoji) + ASCII", "🐈x", "accepted"],
    ["U+2028 line separator", "a\u2028b", "accepted"],
    ["empty", "", "empty"],
    ["65 characters", "a".repeat(65), "too_long"],
    ["64 emoji and one ASCII", `${"🐈".repeat(63)}a`, "accepted"],
    ["65 emoji-sized characters", `${"🐈".repeat(64)}a`, "too_long"],
    ["1 MB", "a".repeat(1 << 20), "too_long"],
  ];
  test.each(classes)("%s in name and tld", (_label, s, want) => {
    expect(reasonOf(() => parseName([s, "tld"]))).toBe(want);
    expect(reasonOf(() => parseName(["name", s]))).toBe(want);
  });

  test("pw may be empty, has the same character rules and a 128-character limit", () => {
    expect(reasonOf(() => parseName(["n", "t", ""]))).toBe("accepted");
    expect(reasonOf(() => parseName(["n", "t", "p\nw"]))).toBe("control");
    expect(reasonOf(() => parseName(["n", "t", "ü"]))).toBe("no_ascii");
    expect(reasonOf(() => parseName(["n", "t", "a".repeat(128)]))).toBe("accepted");
    expect(reasonOf(() => parseName(["n", "t", "a".repeat(129)]))).toBe("too_long");
  });

  test("wrong shapes", () => {
    expect(reasonOf(() => parseName("nodot"))).toBe("format");
    expect(reasonOf(() => parseName(".tld"))).toBe("format");
    expect(reasonOf(() => parseName("name."))).toBe("format");
    expect(reasonOf(() => parseName("a\r\nb"))).toBe("format");
    expect(reasonOf(() => parseName(42 as never))).toBe("type");
    expect(reasonOf(() => parseName(null as never))).toBe("type");
    expect(reasonOf(() => parseName([1, "t"] as never))).toBe("type");
    expect(reasonOf(() => parseName({ name: "n", tld: "t", pw: 5 } as never))).toBe("type");
  });

  test("fuzz: every code unit 0-0xFFFF at every position, one verdict each", () => {
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      const r = reasonOf(() => parseName([`a${ch}`, "tld"]));
      const want =
        c < 0x20 || (c >= 0x7f && c <= 0x9f)
          ? "control"
          : c >= 0xd800 && c <= 0xdfff
            ? "not_utf8"
            : "accepted";
      if (r !== want) expect(`U+${c.toString(16)}: ${r}`).toBe(`U+${c.toString(16)}: ${want}`);
    }
  });

  test("fuzz: arbitrary strings either pass and derive, or fail with a typed error", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 80 }),
        fc.string({ unit: "grapheme", maxLength: 70 }),
        fc.string({
          unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
          maxLength: 20,
        }),
        (a, b, pw) => {
          for (const input of [[a, b, pw] as const, `${a}.${b}`]) {
            const r = reasonOf(() => parseName(input));
            if (r === "accepted") {
              const n = parseName(input);
              expect(
                deriveSigningKey(n.name, n.tld, n.pw, new Uint8Array(24)).priv,
              ).toBeGreaterThan(0n);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
