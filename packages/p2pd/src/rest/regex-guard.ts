import { RE2JS } from "re2js";
import { RestError } from "./errors.js";

/** Longest regex source accepted. */
export const MAX_REGEX = 256;
/** Messages are matched on their first MATCH_PREFIX bytes only (bounds every match's input). */
export const MATCH_PREFIX = 1024;

function bad(what: string, why: string): never {
  throw new RestError("ERR_BAD_REGEX", 400, `${what} regex refused: ${why}`);
}

/**
 * Compiles a user pattern with RE2 (re2js): matching time is linear in the input whatever the
 * pattern, so a hostile peer cannot stall the event loop (V8's backtracking engine took seconds
 * on `(a+)+b`, and no syntactic guard catches every such pattern). RE2 syntax: no backreferences
 * or lookaround; those are refused with ERR_BAD_REGEX.
 */
function compileRe2(source: string, what: string): RE2JS {
  if (typeof source !== "string") bad(what, "not a string");
  if (source.length > MAX_REGEX) bad(what, `longer than ${MAX_REGEX} characters`);
  try {
    return RE2JS.compile(source);
  } catch (e) {
    const m = (e as Error).message;
    const why = /escape sequence: `\\[1-9k]/.test(m) ? `backreference (${m})` : m;
    throw new RestError("ERR_BAD_REGEX", 400, `${what} regex does not compile: ${why}`);
  }
}

/**
 * Throws ERR_BAD_REGEX (400) unless `source` is a pattern the REST API accepts: at most
 * MAX_REGEX characters, RE2 syntax. Kept for callers that only validate.
 */
export function checkRegexCost(source: string, what: string, _inputLen = MATCH_PREFIX): void {
  compileRe2(source, what);
}

/**
 * A RegExp whose test() runs RE2 on at most the first `limit` characters: @p2pd/pipe
 * subscriptions call test(), so the pipe's queues get linear-time matching unchanged.
 */
class Re2RegExp extends RegExp {
  readonly #re: RE2JS;
  readonly #limit: number;
  constructor(source: string, re: RE2JS, limit: number) {
    // The V8 twin is never run (source and key only); a source V8 rejects gets a neutral one.
    let src = source;
    try {
      new RegExp(source);
    } catch {
      src = `(?:re2:${Buffer.from(source).toString("hex")})`;
    }
    super(src);
    this.#re = re;
    this.#limit = limit;
  }
  override test(s: string): boolean {
    return this.#re.matcher(s.length > this.#limit ? s.slice(0, this.#limit) : s).find();
  }
  override exec(s: string): RegExpExecArray | null {
    if (!this.test(s)) return null;
    const r = [s] as unknown as RegExpExecArray;
    r.index = 0;
    r.input = s;
    return r;
  }
}

/** A user pattern as a linear-time RegExp looking at the first `inputLen` characters only. */
export function compileUserRegex(source: string, what: string, inputLen: number): RegExp {
  return new Re2RegExp(source, compileRe2(source, what), inputLen);
}
