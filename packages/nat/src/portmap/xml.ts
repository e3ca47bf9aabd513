import { PortMapBadResponseError } from "./errors.js";

/** One XML element: local name (namespace prefix dropped), child elements, text content. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const MAX_DEPTH = 64;
const MAX_LENGTH = 1 << 20;

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Decodes the five named entities and numeric references; anything else is malformed. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);|&/g, (m, ref: string | undefined) => {
    if (ref === undefined) throw new PortMapBadResponseError("XML: bare '&'");
    if (ref.startsWith("#")) {
      const cp = ref[1] === "x" ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      if (!Number.isInteger(cp) || cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        throw new PortMapBadResponseError(`XML: bad character reference ${m}`);
      return String.fromCodePoint(cp);
    }
    const v = ENTITIES[ref];
    if (v === undefined) throw new PortMapBadResponseError(`XML: unknown entity ${m}`);
    return v;
  });
}

export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]};`,
  );
}

function localName(qname: string): string {
  const i = qname.indexOf(":");
  return i < 0 ? qname : qname.slice(i + 1);
}

/**
 * Parses the small XML documents of UPnP (device descriptions, SOAP envelopes) into a tree.
 * Not a general XML parser: no DTD, attributes are skipped. Malformed input throws
 * PortMapBadResponseError, never anything else.
 */
export function parseXml(xml: string): XmlElement {
  if (xml.length > MAX_LENGTH) throw new PortMapBadResponseError("XML: document too large");
  const root: XmlElement = { name: "#document", children: [], text: "" };
  const stack: XmlElement[] = [root];
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > i) {
      const top = stack[stack.length - 1] as XmlElement;
      const raw = xml.slice(i, textEnd);
      if (stack.length === 1) {
        if (raw.trim() !== "")
          throw new PortMapBadResponseError("XML: text outside the root element");
      } else top.text += decodeEntities(raw);
    }
    if (lt < 0) break;
    if (xml.startsWith("<!--", lt)) {
      const end = xml.indexOf("-->", lt + 4);
      if (end < 0) throw new PortMapBadResponseError("XML: unterminated comment");
      i = end + 3;
    } else if (xml.startsWith("<![CDATA[", lt)) {
      const end = xml.indexOf("]]>", lt + 9);
      if (end < 0 || stack.length === 1) throw new PortMapBadResponseError("XML: bad CDATA");
      (stack[stack.length - 1] as XmlElement).text += xml.slice(lt + 9, end);
      i = end + 3;
    } else if (xml.startsWith("<?", lt)) {
      const end = xml.indexOf("?>", lt + 2);
      if (end < 0) throw new PortMapBadResponseError("XML: unterminated processing instruction");
      i = end + 2;
    } else if (xml.startsWith("<!", lt)) {
      throw new PortMapBadResponseError("XML: DTDs are not accepted");
    } else {
      const gt = findTagEnd(xml, lt + 1);
      const body = xml.slice(lt + 1, gt);
      i = gt + 1;
      if (body.startsWith("/")) {
        const name = localName(body.slice(1).trim());
        const top = stack.pop();
        if (!top || stack.length === 0 || top.name !== name)
          throw new PortMapBadResponseError(`XML: unexpected </${name}>`);
      } else {
        const selfClosing = body.endsWith("/");
        const m = /^([A-Za-z_][\w.:-]*)/.exec(body);
        if (!m?.[1]) throw new PortMapBadResponseError("XML: bad tag name");
        if (stack.length === 1 && root.children.length > 0)
          throw new PortMapBadResponseError("XML: more than one root element");
        const el: XmlElement = { name: localName(m[1]), children: [], text: "" };
        (stack[stack.length - 1] as XmlElement).children.push(el);
        if (!selfClosing) {
          if (stack.length > MAX_DEPTH) throw new PortMapBadResponseError("XML: nested too deep");
          stack.push(el);
        }
      }
    }
  }
  if (stack.length !== 1) throw new PortMapBadResponseError("XML: unclosed element");
  const doc = root.children[0];
  if (!doc) throw new PortMapBadResponseError("XML: no root element");
  return doc;
}

// A '>' inside a quoted attribute value does not end the tag.
function findTagEnd(xml: string, from: number): number {
  let quote = "";
  for (let j = from; j < xml.length; j++) {
    const c = xml[j];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ">") return j;
    else if (c === "<") break;
  }
  throw new PortMapBadResponseError("XML: unterminated tag");
}

/** Every element named `name` below `el` (depth-first, document order). */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    for (const c of e.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}

/** Trimmed text of the first direct child named `name`. */
export function childText(el: XmlElement, name: string): string | undefined {
  return el.children.find((c) => c.name === name)?.text.trim();
}
