import { IRCDNS_ERROR_CODES, NotFoundError } from "@p2pd/ircdns";
import { NAT_ERROR_CODES, PORTMAP_ERROR_CODES } from "@p2pd/nat";
import { NET_ERROR_CODES } from "@p2pd/netifaces";
import { AddressError, NODE_ERROR_CODES, TraversalError } from "@p2pd/node";
import { PIPE_ERROR_CODES, PipeError } from "@p2pd/pipe";
import { STUN_ERROR_CODES, StunError } from "@p2pd/stun";
import { describe, expect, test } from "vitest";
import { CLIENT_ERROR_CODES, REST_ERROR_CODES, RestError } from "../src/rest/errors.js";
import { HTTP_STATUS_BY_CODE, httpStatusFor } from "../src/rest/status.js";

const LISTS: Record<string, readonly string[]> = {
  "@p2pd/netifaces": NET_ERROR_CODES,
  "@p2pd/pipe": PIPE_ERROR_CODES,
  "@p2pd/nat": NAT_ERROR_CODES,
  "@p2pd/nat portmap": PORTMAP_ERROR_CODES,
  "@p2pd/stun": STUN_ERROR_CODES,
  "@p2pd/ircdns": IRCDNS_ERROR_CODES,
  "@p2pd/node": NODE_ERROR_CODES,
  "p2pd rest": REST_ERROR_CODES,
  "p2pd rest client": CLIENT_ERROR_CODES,
};

describe("httpStatusFor", () => {
  for (const [pkg, codes] of Object.entries(LISTS)) {
    test(`every code of ${pkg} has an explicit status`, () => {
      const missing = codes.filter((c) => !Object.hasOwn(HTTP_STATUS_BY_CODE, c));
      expect(missing).toEqual([]);
      for (const c of codes) {
        const s = httpStatusFor({ code: c });
        expect(s, c).toBeGreaterThanOrEqual(400);
        expect(s, c).toBeLessThan(600);
      }
    });
  }

  test("the table names no code that no package has (no stale entries)", () => {
    const all = new Set(Object.values(LISTS).flat());
    expect(Object.keys(HTTP_STATUS_BY_CODE).filter((c) => !all.has(c))).toEqual([]);
  });

  test("an unknown name answers 404, not 502 (issue 17)", () => {
    expect(httpStatusFor(new NotFoundError("no record for x.y"))).toBe(404);
    expect(httpStatusFor({ code: "ERR_NAME_NOT_FOUND" })).toBe(404);
  });

  test("bad input is 400, whichever package says so", () => {
    expect(httpStatusFor(new AddressError("junk"))).toBe(400);
    expect(httpStatusFor(new PipeError("ERR_BAD_ARGUMENT", "x"))).toBe(400);
    expect(httpStatusFor(new StunError("ERR_STUN_BAD_ARGUMENT", "x"))).toBe(400);
    expect(httpStatusFor({ code: "ERR_NAT_BAD_ARGUMENT" })).toBe(400);
    expect(httpStatusFor({ code: "ERR_IRCDNS_BAD_NAME" })).toBe(400);
    expect(httpStatusFor({ code: "ERR_MSG_TOO_LARGE" })).toBe(400);
  });

  test("timeouts are 504, closed is 410, aborted is 499", () => {
    for (const c of ["ERR_TIMEOUT", "ERR_CONNECT_TIMEOUT", "ERR_RECV_TIMEOUT", "ERR_STUN_TIMEOUT"])
      expect(httpStatusFor({ code: c }), c).toBe(504);
    expect(httpStatusFor(new TraversalError("ERR_PUNCH_TIMEOUT", "x"))).toBe(504);
    expect(httpStatusFor(new PipeError("ERR_CLOSED", "x"))).toBe(410);
    expect(httpStatusFor({ code: "ERR_IRCDNS_CLOSED" })).toBe(410);
    expect(httpStatusFor(new PipeError("ERR_ABORTED", "x"))).toBe(499);
  });

  test("the REST server's own codes keep the statuses docs/rest.md documents", () => {
    const documented: Record<string, number> = {
      ERR_BAD_REQUEST: 400,
      ERR_BAD_NAME: 400,
      ERR_BAD_REGEX: 400,
      ERR_BAD_TIMEOUT: 400,
      ERR_UNAUTHORIZED: 401,
      ERR_BAD_ORIGIN: 403,
      ERR_CROSS_SITE: 403,
      ERR_NOT_FOUND: 404,
      ERR_NO_SUCH_CONNECTION: 404,
      ERR_NOT_SUBSCRIBED: 404,
      ERR_METHOD: 405,
      ERR_REQUEST_TIMEOUT: 408,
      ERR_NAME_EXISTS: 409,
      ERR_RELAY_BUSY: 409,
      ERR_TOO_MANY_SUBS: 409,
      ERR_CLOSED: 410,
      ERR_BODY_TOO_LARGE: 413,
      ERR_HEAD_TOO_LARGE: 431,
      ERR_NOT_LOOPBACK: 421,
      ERR_CONNECT: 502,
      ERR_SEND: 502,
      ERR_BUSY: 503,
      ERR_RECV_TIMEOUT: 504,
    };
    for (const [code, status] of Object.entries(documented))
      expect(httpStatusFor(new RestError(code, 0, "x")), code).toBe(status);
  });

  test("anything without a known code is a 500", () => {
    for (const e of [new Error("boom"), { code: "ERR_NOBODY_HAS_THIS" }, null, undefined, "x", 42])
      expect(httpStatusFor(e)).toBe(500);
    expect(httpStatusFor({ code: "toString" })).toBe(500);
    expect(httpStatusFor({ code: "ERR_NOBODY_HAS_THIS" }, 502)).toBe(502);
    expect(httpStatusFor({ code: "ERR_MSG_TOO_LARGE" }, 502)).toBe(400);
  });
});
