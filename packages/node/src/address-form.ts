import { ADDRESS_LIMITS, splitAddressParts } from "./address.js";

// The interface sections: "0" (none) or bracketed entries joined by '|'.
const SECTION = /^(0|\[[^[\]]*\](\|\[[^[\]]*\])*)$/;
// Rendezvous: "None", or comma-separated indexes / rendezvous items (no spaces, no dots-only words).
const SIGNAL = /^(None|[0-9A-Za-z%.:[\],]*)$/;
// Node id and the last part (keys or machine id): letters, digits, '_' only — never a '.'.
const WORD = /^[0-9A-Za-z_]{1,128}$/;

/**
 * The rule that tells an address from a name: true when `text` has an address's structure —
 * 4 or 5 parts split at '-' outside brackets, parts 2 and 3 each "0" or bracketed entries with at
 * least one bracketed, part 1 a rendezvous list, the node id (and the 5th part) plain words. A
 * name (`my-cool-node-x.peer`, `my awesome name.cats`) never has that structure: its parts are
 * not "0" or bracketed. Every text parseAddress accepts has it, so a text without it is a name.
 */
export function isAddressForm(text: string): boolean {
  if (typeof text !== "string" || text.length > ADDRESS_LIMITS.maxLength) return false;
  const parts = splitAddressParts(text.trim());
  if (parts.length !== 4 && parts.length !== 5) return false;
  const [sig, v4, v6, ...rest] = parts as [string, string, string, ...string[]];
  if (!SIGNAL.test(sig) || !SECTION.test(v4) || !SECTION.test(v6)) return false;
  if (v4 === "0" && v6 === "0") return false;
  return rest.every((p) => WORD.test(p));
}
