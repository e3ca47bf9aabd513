// Build, sign and parse STUN messages with the codec alone (no network).
import {
  ATTR,
  decodeMessage,
  encodeMessage,
  longTermKey,
  METHOD,
  StunMessage,
  verifyIntegrity,
} from "@p2pd/stun";

export default async function main(): Promise<void> {
  const key = longTermKey("alice", "example.org", "secret");
  const request = new StunMessage({ method: METHOD.ALLOCATE, cls: "request" })
    .addString(ATTR.USERNAME, "alice")
    .addString(ATTR.REALM, "example.org")
    .addString(ATTR.NONCE, "f//499k954d6OL34oL9FSTvy64sA")
    .addRequestedTransport(17)
    .addUint32(ATTR.LIFETIME, 600);
  const bytes = encodeMessage(request, { integrity: key, fingerprint: true });

  const parsed = decodeMessage(bytes); // throws a StunError with a `code` on bad input
  console.log(`${bytes.length} bytes, method ${parsed.method}, ${parsed.cls}`);
  console.log(
    `lifetime ${parsed.getUint32(ATTR.LIFETIME)} s, integrity ok: ${verifyIntegrity(bytes, key)}`,
  );

  try {
    decodeMessage(bytes.subarray(0, 30));
  } catch (e) {
    console.log(`truncated input: ${(e as { code: string }).code}`);
  }
}
