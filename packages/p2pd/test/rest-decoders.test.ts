import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { RestError } from "../src/rest/errors.js";
import { parseHead } from "../src/rest/http.js";
import { checkRegexCost } from "../src/rest/regex-guard.js";
import { buildPath, matchRoute, ROUTES } from "../src/rest/routes.js";

// The request-head parser, the route matcher and the regex guard take hostile input: whatever
// they get, they answer or throw a RestError, never anything else.
const onlyRestErrors = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RestError);
  }
};

const headLike = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "GET ",
        "POST ",
        "/",
        "%",
        "%2",
        "%ZZ",
        "?",
        " HTTP/1.1",
        " HTTP/1.0",
        ":",
        " ",
      ),
      fc.constantFrom(
        "\r\n",
        "\n",
        "\r",
        "\0",
        "Host: 127.0.0.1",
        "Content-Length: 5",
        "Origin: null",
      ),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 30 },
  )
  .map((xs) => `${xs.join("")}\r\n\r\n`);

describe("decoders under fuzz", () => {
  test("parseHead: arbitrary bytes and head-like text give a head, undefined or a RestError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map(Buffer.from),
          headLike.map((s) => Buffer.from(s, "latin1")),
        ),
        (buf) => {
          onlyRestErrors(() => {
            const head = parseHead(buf, 256);
            if (head) {
              expect(head.method).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Z]+$/);
              for (const [k, v] of head.headers) {
                expect(k).not.toMatch(/[\s:]/);
                expect(v).not.toMatch(/[\r\n\0]/);
              }
              matchRoute(head.method, head.segments);
            }
          });
        },
      ),
      { numRuns: 3000 },
    );
  });

  test("checkRegexCost: any source is accepted or refused with ERR_BAD_REGEX", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(
            "a",
            ".",
            "*",
            "+",
            "?",
            "(",
            ")",
            "|",
            "[",
            "]",
            "\\",
            "1",
            "{2,}",
            "{1,3}",
            "^",
            "$",
            "(?:",
            "(?=",
            "k<",
          ),
          { maxLength: 20 },
        ),
        (xs) => {
          const src = xs.join("");
          try {
            checkRegexCost(src, "message");
          } catch (e) {
            expect(e).toMatchObject({ code: "ERR_BAD_REGEX", status: 400 });
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  test("checkRegexCost: star height above one and multiplied unbounded repetitions are refused", () => {
    for (const bad of [
      "(a*)*",
      "(?:a+)+",
      "(a|b)+",
      "(?:x|y){2,}",
      "a+b+c+",
      "[a-z]*[0-9]*x",
      "\\w+\\s*\\w+",
    ]) {
      expect(() => checkRegexCost(bad, "message"), bad).toThrow(RestError);
    }
    for (const ok of [
      "",
      "^ECHO",
      "hello",
      "^\\d+\\.\\d+",
      "[*+]+x",
      "a\\*\\*\\*",
      "(ab){1,3}c",
      "x{2}",
      "^(a|b)c*$",
    ]) {
      expect(() => checkRegexCost(ok, "message"), ok).not.toThrow();
    }
  });
});

describe("URLs the client builds are routed back to the same values", () => {
  const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/).filter((n) => n !== "." && n !== "..");
  const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 });
  test("every route, with names, texts, destinations and regexes full of reserved characters", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ROUTES.filter((r) => r.id !== "dashboard")),
        name,
        text,
        text,
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        (route, n, t, dest, msg) => {
          const values = { name: n, text: t, dest, msg };
          const url = buildPath(route.id, values);
          const head = parseHead(
            Buffer.from(`${route.method} ${url} HTTP/1.1\r\n\r\n`, "latin1"),
            1 << 16,
          );
          expect(head).toBeDefined();
          const m = head && matchRoute(head.method, head.segments);
          expect(m && "route" in m ? m.route.id : m).toBe(route.id);
          if (!m || !("route" in m)) return;
          for (const p of route.params) {
            const got = p.in === "path" ? m.params[p.name] : (head?.query.get(p.name) ?? undefined);
            const want = (values as Record<string, string | undefined>)[p.name];
            expect(got, p.name).toBe(want === "" ? undefined : want);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
