import { PortMapBadResponseError, PortMapRefusedError } from "./errors.js";
import { childText, escapeXml, findAll, parseXml } from "./xml.js";

export function buildSoapEnvelope(
  serviceType: string,
  action: string,
  args: [string, string | number][],
): string {
  const inner = args.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join("");
  return (
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>' +
    `<u:${action} xmlns:u="${escapeXml(serviceType)}">${inner}</u:${action}>` +
    "</s:Body></s:Envelope>"
  );
}

/**
 * Decodes a SOAP answer: the out-arguments of `<ActionResponse>` as strings, or a
 * PortMapRefusedError carrying the UPnPError errorCode (e.g. 718 ConflictInMappingEntry).
 */
export function parseSoapResponse(
  status: number,
  body: string,
  action: string,
): Record<string, string> {
  let doc: ReturnType<typeof parseXml>;
  try {
    doc = parseXml(body);
  } catch (e) {
    throw new PortMapBadResponseError(`SOAP ${action}: HTTP ${status}, body is not XML`, {
      cause: e,
    });
  }
  const upnpError = findAll(doc, "UPnPError")[0];
  if (upnpError || findAll(doc, "Fault")[0]) {
    const codeText = upnpError ? childText(upnpError, "errorCode") : undefined;
    const code = codeText && /^\d+$/.test(codeText) ? Number(codeText) : undefined;
    const desc = (upnpError && childText(upnpError, "errorDescription")) || "SOAP fault";
    throw new PortMapRefusedError(`${action}: ${desc}${code ? ` (${code})` : ""}`, code);
  }
  if (status !== 200) throw new PortMapBadResponseError(`SOAP ${action}: HTTP ${status}`);
  const res = findAll(doc, `${action}Response`)[0];
  if (!res) throw new PortMapBadResponseError(`SOAP ${action}: no ${action}Response element`);
  const out: Record<string, string> = {};
  for (const c of res.children) out[c.name] = c.text.trim();
  return out;
}
