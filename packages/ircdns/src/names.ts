import { BadNameError, BadValueError } from "./errors.js";

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

const NAME_RE = /^[\x21-\x7e]{1,64}$/;
const PW_RE = /^[\x20-\x7e]{0,128}$/;

/**
 * Validate instead of silently dropping characters (the reference turns "café" into "caf"):
 * name and TLD are 1-64 printable ASCII characters without spaces (spaces made "a b"+"c" collide with
 * "a"+"b c" in the time-lock input); pw is 0-128 printable ASCII characters.
 * A string "label.tld" splits at its last dot.
 */
export function parseName(input: NameInput): Name {
  let n: Name;
  if (typeof input === "string") {
    const i = input.lastIndexOf(".");
    if (i <= 0 || i === input.length - 1) throw new BadNameError(`"${input}" is not NAME.TLD`);
    n = { name: input.slice(0, i), tld: input.slice(i + 1), pw: "" };
  } else if (Array.isArray(input)) {
    n = { name: input[0], tld: input[1], pw: input[2] ?? "" };
  } else if (typeof input === "object" && input !== null) {
    const o = input as { name: string; tld: string; pw?: string };
    n = { name: o.name, tld: o.tld, pw: o.pw ?? "" };
  } else {
    throw new BadNameError("name must be [name, tld, pw?], {name, tld, pw?} or 'name.tld'");
  }
  for (const [k, v] of [
    ["name", n.name],
    ["tld", n.tld],
  ] as const) {
    if (typeof v !== "string" || !NAME_RE.test(v)) {
      throw new BadNameError(`${k} must be 1-64 printable ASCII characters without spaces`);
    }
  }
  if (typeof n.pw !== "string" || !PW_RE.test(n.pw)) {
    throw new BadNameError("pw must be 0-128 printable ASCII characters");
  }
  return n;
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
