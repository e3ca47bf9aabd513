import { RestError } from "./errors.js";

/** Longest regex source accepted. */
export const MAX_REGEX = 256;
/** Messages are matched on their first MATCH_PREFIX bytes only (bounds every match's input). */
export const MATCH_PREFIX = 1024;
/**
 * Most backtracking steps a regex may cost on a MATCH_PREFIX-long input (about 2-4 ms in V8).
 * V8 backtracks: `a*a*b` is quadratic per start position and `(a+)+b` exponential, so a hostile
 * peer could make one message cost seconds to minutes.
 */
const BUDGET = 2 * 1024 * 1024;

interface Group {
  quantified: boolean;
  alternation: boolean;
}

function bad(what: string, why: string): never {
  throw new RestError("ERR_BAD_REGEX", 400, `${what} regex refused: ${why}`);
}

/**
 * Refuses regexes whose worst case is not bounded: nested quantifiers (a quantified group that
 * holds a quantifier or an alternation), backreferences, and sources whose product of repetition
 * counts times the input length exceeds the budget (`a*a*b`). A `^` anchor saves one factor of
 * the input length, since V8 then tries only position 0. An over-estimate by design: a refused
 * regex can always be rewritten simpler, and a hostile message can never stall the server.
 */
export function checkRegexCost(source: string, what: string, inputLen = MATCH_PREFIX): void {
  if (source.length > MAX_REGEX) bad(what, `longer than ${MAX_REGEX} characters`);
  const stack: Group[] = [{ quantified: false, alternation: false }];
  let cost = 1;
  let topAlternation = false;
  // What the next quantifier would apply to: a plain atom, a group, or nothing.
  let last: "none" | "atom" | Group = "none";
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    const top = stack[stack.length - 1] as Group;
    if (c === "\\") {
      const n = source[i + 1] ?? "";
      if (/[1-9]/.test(n) || (n === "k" && source[i + 2] === "<")) bad(what, "backreference");
      i += 2;
      last = "atom";
      continue;
    }
    if (c === "[") {
      i++;
      if (source[i] === "^") i++;
      if (source[i] === "]") i++;
      while (i < source.length && source[i] !== "]") i += source[i] === "\\" ? 2 : 1;
      i++;
      last = "atom";
      continue;
    }
    if (c === "(") {
      stack.push({ quantified: false, alternation: false });
      i++;
      last = "none";
      continue;
    }
    if (c === ")") {
      const g = stack.length > 1 ? (stack.pop() as Group) : top;
      const parent = stack[stack.length - 1] as Group;
      parent.quantified ||= g.quantified;
      parent.alternation ||= g.alternation;
      i++;
      last = g;
      continue;
    }
    if (c === "|") {
      top.alternation = true;
      if (stack.length === 1) topAlternation = true;
      i++;
      last = "none";
      continue;
    }
    const q = /^(?:[*+?]|\{(\d+)(,(\d*))?\})/.exec(source.slice(i));
    if (q && last !== "none") {
      const max =
        q[0] === "?"
          ? 1
          : q[0] === "*" || q[0] === "+"
            ? inputLen
            : q[2] === undefined
              ? Number(q[1])
              : q[3]
                ? Number(q[3])
                : inputLen;
      if (last !== "atom" && (last.quantified || last.alternation)) {
        bad(what, "nested quantifier (a repeated group holding a quantifier or |)");
      }
      cost *= Math.min(max, inputLen) + 1;
      top.quantified = true;
      i += q[0].length;
      if (source[i] === "?") i++; // lazy
      last = "none";
      continue;
    }
    i++;
    last = "atom";
  }
  // Unanchored, V8 retries the whole pattern at every start position.
  if (!source.startsWith("^") || topAlternation) cost *= inputLen;
  if (cost > BUDGET)
    bad(what, "too costly (at most one unbounded repetition, or anchor it with ^)");
}
