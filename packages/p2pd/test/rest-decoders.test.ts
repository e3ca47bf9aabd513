import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { RestError } from "../src/rest/errors.js";
import { toHead } from "../src/rest/http.js";
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

// node:http frames requests and refuses malformed heads; what it hands over (target, raw header
// pairs) still comes from the client and goes through toHead.
const targetLike = fc
  .array(
    fc.oneof(
      fc.constantFrom("/", "%", "%2", "%ZZ", "%0d%0a", "?", "&", "=", "..", "open", "tunnel"),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 20 },
  )
  .map((xs) => xs.join(""));
const headerPairs = fc
  .array(
    fc.tuple(
      fc.constantFrom("Host", "Origin", "Content-Length", "Transfer-Encoding", "X-A", "Upgrade"),
      fc.string({ maxLength: 12 }),
    ),
    { maxLength: 6 },
  )
  .map((pairs) => pairs.flat());

describe("decoders under fuzz", () => {
  test("toHead: arbitrary targets, versions and headers give a head or a RestError", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("GET", "POST", "HEAD", "DELETE", "OPTIONS", "PUT"),
        fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9"),
        targetLike,
        headerPairs,
        (method, version, target, raw) => {
          onlyRestErrors(() => {
            const head = toHead(method, version, target, raw);
            expect(head.version).toMatch(/^HTTP\/1\.[01]$/);
            expect(head.headers.has("transfer-encoding")).toBe(false);
            matchRoute(head.method, head.segments);
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

  test("checkRegexCost: backtracking patterns are fine (RE2 is linear), bad syntax is refused", () => {
    for (const ok of [
      "",
      "^ECHO",
      "(a*)*",
      "(?:a+)+",
      "(a|b)+",
      "a+b+c+",
      "[]|(a+)+b]",
      "^\\d+\\.\\d+",
      "(ab){1,3}c",
    ]) {
      expect(() => checkRegexCost(ok, "message"), ok).not.toThrow();
    }
    for (const bad of ["(x)\\1", "(?=a)b", "(", "a".repeat(300)]) {
      expect(() => checkRegexCost(bad, "message"), bad).toThrow(RestError);
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
          const head = toHead(route.method, "HTTP/1.1", url, []);
          expect(head).toBeDefined();
          const m = matchRoute(head.method, head.segments);
          expect(m && "route" in m ? m.route.id : m).toBe(route.id);
          if (!m || !("route" in m)) return;
          for (const p of route.params) {
            const got = p.in === "path" ? m.params[p.name] : (head.query.get(p.name) ?? undefined);
            const want = (values as Record<string, string | undefined>)[p.name];
            expect(got, p.name).toBe(want === "" ? undefined : want);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
