/** One parsed IRC line (RFC 1459 framing, IRCv3 tags skipped). */
export interface IrcLine {
  /** Nick or server name of the sender, "" when absent. */
  source: string;
  command: string;
  params: string[];
}

/** Parse a raw line; returns undefined for anything that is not a well-formed message. */
export function parseLine(raw: string): IrcLine | undefined {
  let s = raw.replace(/[\r\n]+$/, "");
  if (s.length === 0 || s.length > 8704) return undefined;
  if (s.startsWith("@")) {
    const sp = s.indexOf(" ");
    if (sp < 0) return undefined;
    s = s.slice(sp + 1).trimStart();
  }
  let source = "";
  if (s.startsWith(":")) {
    const sp = s.indexOf(" ");
    if (sp < 0) return undefined;
    const prefix = s.slice(1, sp);
    source = prefix.split("!")[0] ?? "";
    s = s.slice(sp + 1).trimStart();
  }
  const params: string[] = [];
  let command = "";
  while (s.length > 0) {
    if (command !== "" && s.startsWith(":")) {
      params.push(s.slice(1));
      break;
    }
    const sp = s.indexOf(" ");
    const tok = sp < 0 ? s : s.slice(0, sp);
    if (command === "") command = tok.toUpperCase();
    else params.push(tok);
    s = sp < 0 ? "" : s.slice(sp + 1).replace(/^ +/, "");
  }
  if (!/^([A-Z]+|\d{3})$/.test(command)) return undefined;
  return { source, command, params };
}

/** Remove mIRC formatting (bold, colour, underline, ...) that services put in their replies. */
export function stripFormatting(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x03) {
      // colour: \x03 then up to 2 digits, optionally ",NN"
      const m = /^(\d{1,2}(,\d{1,2})?)?/.exec(s.slice(i + 1));
      i += m?.[0].length ?? 0;
      continue;
    }
    if (FORMAT_CODES.has(c)) continue;
    out += s[i];
  }
  return out;
}

const FORMAT_CODES = new Set([0x02, 0x0f, 0x11, 0x16, 0x1d, 0x1e, 0x1f]);

/** IRC (rfc1459) case folding, used to compare nicks and channels. */
export function ircLower(s: string): string {
  return s
    .toLowerCase()
    .replace(/\[/g, "{")
    .replace(/\]/g, "}")
    .replace(/\\/g, "|")
    .replace(/~/g, "^");
}
