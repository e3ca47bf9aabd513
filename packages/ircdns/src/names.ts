import { BadNameError, type BadNameReason, BadValueError } from "./errors.js";

/** A name: [name, tld, pw]. pw defaults to "" and is mixed into the channel names and the key. */
export type NameInput =
  | readonly [name: string, tld: string, pw?: string]
  | { name: string; tld: string; pw?: string }
  | string;

export interface Name {
  name: string;
  tld: string;
  pw: string;
}

/** Limits in characters (code points); P2PD has none, these keep inputs bounded. */
export const MAX_NAME_CHARS = 64;
export const MAX_PW_CHARS = 128;

/** Quote at most 40 characters of untrusted input, escaped, so messages stay one short line. */
function quote(s: string): string {
  const cut = [...s.slice(0, 82)].slice(0, 40).join("");
  return (
    JSON.stringify(cut).replace(
      /[\u2028\u2029\u007f-\u009f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    ) + (cut.length < s.length ? "..." : "")
  );
}

function bad(reason: BadNameReason, message: string): never {
  throw new BadNameError(message, reason);
}

/**
 * Check one field. P2PD takes any text and derives from its ASCII bytes only (non-ASCII is dropped),
 * so spaces and UTF-8 are allowed here too, with the same derivation. Refused: control characters
 * (C0, DEL, C1: CR/LF/NUL included), lone surrogates (not UTF-8), over-long fields, and a non-empty
 * field with no ASCII character left (it would derive as the empty string, shared by every such name).
 */
function checkField(k: "name" | "tld" | "pw", v: unknown): string {
  const max = k === "pw" ? MAX_PW_CHARS : MAX_NAME_CHARS;
  if (typeof v !== "string") bad("type", `${k} must be a string`);
  if (v.length > max * 2) bad("too_long", `${k} is longer than ${max} characters`);
  let chars = 0;
  let ascii = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = v.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) bad("not_utf8", `${k} has a lone surrogate (not UTF-8)`);
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      bad("not_utf8", `${k} has a lone surrogate (not UTF-8)`);
    } else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      bad("control", `${k} has a control character U+${c.toString(16).padStart(4, "0")}`);
    } else if (c < 0x80) {
      ascii++;
    }
    chars++;
  }
  if (chars > max) bad("too_long", `${k} is longer than ${max} characters`);
  if (k !== "pw" && chars === 0) bad("empty", `${k} is empty`);
  if (chars > 0 && ascii === 0) {
    bad(
      "no_ascii",
      `${k} has no ASCII character: P2PD's derivation drops non-ASCII, it would be ""`,
    );
  }
  return v;
}

/**
 * Validate a name as P2PD accepts it: name and TLD 1-64 characters, pw 0-128, spaces and UTF-8 allowed,
 * no control characters. Derivations use the ASCII characters only, as P2PD's do, so "café" and "caf"
 * are the same name (and "a b"+"c" shares channels with "a"+"b c"): see the README.
 * A string "label.tld" splits at its last dot.
 */
export function parseName(input: NameInput): Name {
  let n: { name: unknown; tld: unknown; pw: unknown };
  if (typeof input === "string") {
    const i = input.lastIndexOf(".");
    if (i <= 0 || i === input.length - 1) bad("format", `${quote(input)} is not NAME.TLD`);
    n = { name: input.slice(0, i), tld: input.slice(i + 1), pw: "" };
  } else if (Array.isArray(input)) {
    n = { name: input[0], tld: input[1], pw: input[2] ?? "" };
  } else if (typeof input === "object" && input !== null) {
    const o = input as { name: unknown; tld: unknown; pw?: unknown };
    n = { name: o.name, tld: o.tld, pw: o.pw ?? "" };
  } else {
    bad("type", "name must be [name, tld, pw?], {name, tld, pw?} or 'name.tld'");
  }
  return {
    name: checkField("name", n.name),
    tld: checkField("tld", n.tld),
    pw: checkField("pw", n.pw),
  };
}

/** Values are ASCII text (the v1 format encodes ASCII); anything else would be silently altered. */
export function checkValue(value: unknown): string {
  if (typeof value !== "string") throw new BadValueError("value must be a string");
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x7e || c === 0) throw new BadValueError("value must be ASCII without NUL");
  }
  return value;
}
