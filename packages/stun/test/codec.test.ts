import { describe, expect, test } from "vitest";
import { formatIp, parseIp } from "../src/endpoint.js";
import {
  ATTR,
  decodeMessage,
  encodeMessage,
  isStunMessage,
  longTermKey,
  METHOD,
  parseHostPort,
  StunError,
  StunFramer,
  StunMessage,
  shortTermKey,
  verifyIntegrity,
} from "../src/index.js";
import { messageType, splitType } from "../src/message.js";

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof StunError ? e.code : `untyped: ${String(e)}`;
  }
  return "no error";
};

describe("message type", () => {
  test("method and class interleave as in RFC 5389 §6", () => {
    expect(messageType(METHOD.BINDING, "request")).toBe(0x0001);
    expect(messageType(METHOD.BINDING, "success")).toBe(0x0101);
    expect(messageType(METHOD.BINDING, "error")).toBe(0x0111);
    expect(messageType(METHOD.ALLOCATE, "request")).toBe(0x0003);
    expect(messageType(METHOD.DATA, "indication")).toBe(0x0017);
    for (let m = 0; m < 0x1000; m += 37) {
      for (const c of ["request", "indication", "success", "error"] as const) {
        expect(splitType(messageType(m, c))).toEqual({ method: m, cls: c });
      }
    }
  });
});

describe("IP text ↔ bytes", () => {
  test.each([
    ["192.0.2.1", "192.0.2.1"],
    ["2001:db8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["1:0:0:1:0:0:0:1", "1:0:0:1::1"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
  ])("%s → %s", (input, out) => {
    expect(formatIp(parseIp(input))).toBe(out);
  });

  test("bad input is a typed error", () => {
    expect(code(() => parseIp("not-an-ip"))).toBe("ERR_STUN_BAD_ARGUMENT");
    expect(code(() => parseIp("256.1.1.1"))).toBe("ERR_STUN_BAD_ARGUMENT");
  });

  test("host:port parsing", () => {
    expect(parseHostPort("127.0.0.1:3479", 3478)).toEqual({ host: "127.0.0.1", port: 3479 });
    expect(parseHostPort("[::1]:5000", 3478)).toEqual({ host: "::1", port: 5000 });
    expect(parseHostPort("::1", 3478)).toEqual({ host: "::1", port: 3478 });
    expect(parseHostPort("stun.example.org", 3478)).toEqual({
      host: "stun.example.org",
      port: 3478,
    });
    for (const bad of ["", "host:0", "host:70000", "[::1]:x", "host:12a"]) {
      expect(code(() => parseHostPort(bad, 3478))).toBe("ERR_STUN_BAD_ARGUMENT");
    }
  });
});

describe("TURN and RFC 5780 attributes", () => {
  test("typed helpers round-trip through the wire", () => {
    const m = new StunMessage({ method: METHOD.CREATE_PERMISSION, cls: "request" })
      .addAddress(ATTR.XOR_PEER_ADDRESS, { host: "192.0.2.10", port: 4000 })
      .addAddress(ATTR.XOR_PEER_ADDRESS, { host: "2001:db8::10", port: 4001 })
      .addAddress(ATTR.XOR_RELAYED_ADDRESS, { host: "198.51.100.3", port: 50000 })
      .addUint32(ATTR.LIFETIME, 600)
      .addRequestedTransport(17)
      .addChannelNumber(0x4001)
      .add(ATTR.DATA, Uint8Array.of(1, 2, 3, 4, 5))
      .addString(ATTR.REALM, "realm")
      .addString(ATTR.NONCE, "nonce")
      .addString(ATTR.USERNAME, "user")
      .addChangeRequest({ changeIp: true, changePort: false })
      .addResponsePort(9999)
      .addPadding(7)
      .addErrorCode(438, "Stale Nonce")
      .addUnknownAttributes([0x7001, 0x7002]);
    const d = decodeMessage(encodeMessage(m, { fingerprint: true }));
    expect(d.getAllAddresses(ATTR.XOR_PEER_ADDRESS)).toEqual([
      { host: "192.0.2.10", port: 4000, family: 4 },
      { host: "2001:db8::10", port: 4001, family: 6 },
    ]);
    expect(d.getAddress(ATTR.XOR_RELAYED_ADDRESS)).toEqual({
      host: "198.51.100.3",
      port: 50000,
      family: 4,
    });
    expect(d.getUint32(ATTR.LIFETIME)).toBe(600);
    expect(d.getRequestedTransport()).toBe(17);
    expect(d.getChannelNumber()).toBe(0x4001);
    expect(d.get(ATTR.DATA)).toEqual(Uint8Array.of(1, 2, 3, 4, 5));
    expect(d.getString(ATTR.REALM)).toBe("realm");
    expect(d.getChangeRequest()).toEqual({ changeIp: true, changePort: false });
    expect(d.getResponsePort()).toBe(9999);
    expect(d.get(ATTR.PADDING)?.length).toBe(7);
    expect(d.getErrorCode()).toEqual({ code: 438, reason: "Stale Nonce" });
    expect(d.getUnknownAttributes()).toEqual([0x7001, 0x7002]);
    expect(d.method).toBe(METHOD.CREATE_PERMISSION);
  });

  test("RESPONSE-PORT, CHANNEL-NUMBER, REQUESTED-TRANSPORT: value in the high bytes, reserved bytes ignored", () => {
    const m = new StunMessage()
      .addResponsePort(9999)
      .addChannelNumber(0x4001)
      .addRequestedTransport(17);
    expect(m.get(ATTR.RESPONSE_PORT)).toEqual(Uint8Array.of(0x27, 0x0f, 0, 0));
    expect(m.get(ATTR.CHANNEL_NUMBER)).toEqual(Uint8Array.of(0x40, 0x01, 0, 0));
    expect(m.get(ATTR.REQUESTED_TRANSPORT)).toEqual(Uint8Array.of(17, 0, 0, 0));
    const got = new StunMessage()
      .add(ATTR.RESPONSE_PORT, Uint8Array.of(0x27, 0x0f, 0xff, 0xff))
      .add(ATTR.CHANNEL_NUMBER, Uint8Array.of(0x7f, 0xfe, 0xaa, 0x55))
      .add(ATTR.REQUESTED_TRANSPORT, Uint8Array.of(6, 1, 2, 3));
    expect(got.getResponsePort()).toBe(9999);
    expect(got.getChannelNumber()).toBe(0x7ffe);
    expect(got.getRequestedTransport()).toBe(6);
    const short = new StunMessage().add(ATTR.CHANNEL_NUMBER, Uint8Array.of(0x40, 0x01));
    expect(() => short.getChannelNumber()).toThrow(
      expect.objectContaining({ code: "ERR_STUN_BAD_ATTR" }),
    );
  });

  test("XOR addresses differ on the wire from plain ones and decode back", () => {
    const m = new StunMessage()
      .addAddress(ATTR.XOR_MAPPED_ADDRESS, { host: "10.0.0.1", port: 1234 })
      .addAddress(ATTR.MAPPED_ADDRESS, { host: "10.0.0.1", port: 1234 });
    expect(m.get(ATTR.XOR_MAPPED_ADDRESS)).not.toEqual(m.get(ATTR.MAPPED_ADDRESS));
    expect(m.getAddress(ATTR.XOR_MAPPED_ADDRESS)).toEqual(m.getAddress(ATTR.MAPPED_ADDRESS));
  });

  test("malformed attribute values are typed errors from the accessors", () => {
    const m = new StunMessage()
      .add(ATTR.XOR_MAPPED_ADDRESS, Uint8Array.of(0, 3, 0, 0, 1, 2, 3, 4))
      .add(ATTR.LIFETIME, Uint8Array.of(1))
      .add(ATTR.ERROR_CODE, Uint8Array.of(0, 0, 9, 0))
      .add(ATTR.UNKNOWN_ATTRIBUTES, Uint8Array.of(1));
    expect(code(() => m.getAddress(ATTR.XOR_MAPPED_ADDRESS))).toBe("ERR_STUN_BAD_ATTR");
    expect(code(() => m.getUint32(ATTR.LIFETIME))).toBe("ERR_STUN_BAD_ATTR");
    expect(code(() => m.getErrorCode())).toBe("ERR_STUN_BAD_ATTR");
    expect(code(() => m.getUnknownAttributes())).toBe("ERR_STUN_BAD_ATTR");
  });
});

describe("integrity", () => {
  test("MESSAGE-INTEGRITY-SHA256 with short- and long-term keys", () => {
    for (const key of [
      shortTermKey("secret"),
      longTermKey("user", "realm", "pass", "sha256"),
      longTermKey("u", "r", "p"),
    ]) {
      const m = new StunMessage().addString(ATTR.USERNAME, "user");
      const bytes = encodeMessage(m, { integritySha256: key, fingerprint: true });
      expect(decodeMessage(bytes).get(ATTR.MESSAGE_INTEGRITY_SHA256)?.length).toBe(32);
      expect(verifyIntegrity(bytes, key)).toBe(true);
      expect(verifyIntegrity(bytes, shortTermKey("other"))).toBe(false);
      const tampered = bytes.slice();
      tampered[25] = (tampered[25] ?? 0) ^ 1;
      expect(verifyIntegrity(tampered, key)).toBe(false);
    }
  });

  test("both MESSAGE-INTEGRITY and -SHA256 present: SHA256 is checked; none present: false", () => {
    const key = shortTermKey("k");
    const both = encodeMessage(new StunMessage(), { integrity: key, integritySha256: key });
    expect(verifyIntegrity(both, key)).toBe(true);
    expect(verifyIntegrity(encodeMessage(new StunMessage()), key)).toBe(false);
  });

  test("long-term keys are MD5 / SHA-256 of user:realm:SASLprep(password)", () => {
    expect(Buffer.from(longTermKey("user", "realm", "pass")).toString("hex")).toBe(
      "8493fbc53ba582fb4c044c456bdc40eb",
    );
    expect(longTermKey("user", "realm", "pass", "sha256")).toHaveLength(32);
  });
});

describe("decoder errors", () => {
  const ok = encodeMessage(new StunMessage().addUint32(ATTR.LIFETIME, 5));
  test.each([
    ["truncated header", "ERR_STUN_TRUNCATED", ok.subarray(0, 10)],
    ["truncated body", "ERR_STUN_TRUNCATED", ok.subarray(0, ok.length - 4)],
    ["trailing bytes", "ERR_STUN_BAD_LENGTH", Uint8Array.of(...ok, 0, 0, 0, 0)],
    [
      "length not a multiple of 4",
      "ERR_STUN_BAD_LENGTH",
      Uint8Array.of(...ok.subarray(0, 3), 6, ...ok.subarray(4), 0, 0),
    ],
    ["top bits set", "ERR_STUN_NOT_STUN", Uint8Array.of(0xc0, ...ok.subarray(1))],
    [
      "wrong cookie",
      "ERR_STUN_BAD_COOKIE",
      Uint8Array.of(...ok.subarray(0, 4), 1, 2, 3, 4, ...ok.subarray(8)),
    ],
    [
      "duplicate attribute",
      "ERR_STUN_DUPLICATE_ATTR",
      encodeMessage(new StunMessage().addUint32(1, 1).addUint32(1, 2)),
    ],
    [
      "attribute after FINGERPRINT",
      "ERR_STUN_BAD_ATTR",
      encodeMessage(
        new StunMessage().add(ATTR.FINGERPRINT, new Uint8Array(4)).addUint32(ATTR.LIFETIME, 1),
      ),
    ],
  ])("%s → %s", (_name, expected, bytes) => {
    expect(code(() => decodeMessage(bytes))).toBe(expected);
    expect(isStunMessage(bytes)).toBe(
      expected === "ERR_STUN_DUPLICATE_ATTR" || expected === "ERR_STUN_BAD_ATTR",
    );
  });

  test("too large to encode", () => {
    const m = new StunMessage();
    for (let i = 0; i < 2; i++) m.add(ATTR.DATA + i, new Uint8Array(40000));
    expect(code(() => encodeMessage(m))).toBe("ERR_STUN_TOO_LARGE");
    expect(code(() => m.add(ATTR.DATA, new Uint8Array(70000)))).toBe("ERR_STUN_TOO_LARGE");
  });

  test("legacy (RFC 3489) messages only with { legacy: true }", () => {
    const legacy = encodeMessage(new StunMessage({ transactionId: new Uint8Array(16).fill(3) }));
    expect(code(() => decodeMessage(legacy))).toBe("ERR_STUN_BAD_COOKIE");
    const m = decodeMessage(legacy, { legacy: true });
    expect(m.legacy).toBe(true);
    expect(m.transactionId).toEqual(new Uint8Array(16).fill(3));
  });
});

describe("stream framing", () => {
  const a = encodeMessage(new StunMessage());
  const b = encodeMessage(new StunMessage().addString(ATTR.SOFTWARE, "x"));
  test("self-delimited STUN split across and merged in chunks", () => {
    const f = new StunFramer("stun");
    const all = Uint8Array.of(...a, ...b);
    expect(f.push(all.subarray(0, 7))).toEqual([]);
    expect(f.push(all.subarray(7, 30))).toEqual([a]);
    expect(f.push(all.subarray(30))).toEqual([b]);
  });
  test("RFC 4571 framing, auto-detected", () => {
    const f = new StunFramer();
    const framed = Uint8Array.of(
      ...StunFramer.frame(a, "rfc4571"),
      ...StunFramer.frame(b, "rfc4571"),
    );
    expect(f.push(framed)).toEqual([a, b]);
    expect(f.framing).toBe("rfc4571");
  });
  test("oversized or non-STUN streams are typed errors", () => {
    expect(
      code(() =>
        new StunFramer("stun").push(Uint8Array.of(0, 1, 0xff, 0xf0, 0x21, 0x12, 0xa4, 0x42)),
      ),
    ).toBe("ERR_STUN_TOO_LARGE");
    expect(code(() => new StunFramer("stun").push(Buffer.from("GET / HTTP/1.1\r\n")))).toBe(
      "ERR_STUN_NOT_STUN",
    );
  });
});

describe("Buffer inputs (pooled, non-zero offsets)", () => {
  test("decoding and verifying never alias or modify the caller's bytes", () => {
    const key = shortTermKey("pw");
    const m = new StunMessage().addAddress(ATTR.XOR_MAPPED_ADDRESS, { host: "192.0.2.7", port: 7 });
    const wire = encodeMessage(m, { integrity: key, fingerprint: true });
    const pool = Buffer.alloc(wire.length + 64, 0xee);
    pool.set(wire, 32);
    const view = pool.subarray(32, 32 + wire.length);
    const before = Buffer.from(pool);
    const d = decodeMessage(view);
    expect(d.transactionId).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(d.transactionId)).toBe(false);
    expect(d.getAddress(ATTR.XOR_MAPPED_ADDRESS)).toEqual(d.getAddress(ATTR.XOR_MAPPED_ADDRESS));
    expect(d.getAddress(ATTR.XOR_MAPPED_ADDRESS)?.host).toBe("192.0.2.7");
    expect(verifyIntegrity(view, key)).toBe(true);
    expect(pool.equals(before)).toBe(true);
    // Attribute values are copies: changing the input afterwards does not change the message.
    view.fill(0);
    expect(d.getAddress(ATTR.XOR_MAPPED_ADDRESS)?.host).toBe("192.0.2.7");
  });
});

describe("data", () => {
  test("PUBLIC_STUN_SERVERS are host:port strings (never contacted by tests)", async () => {
    const { PUBLIC_STUN_SERVERS } = await import("../src/index.js");
    expect(PUBLIC_STUN_SERVERS.length).toBeGreaterThanOrEqual(2);
    for (const s of PUBLIC_STUN_SERVERS) expect(parseHostPort(s, 3478).port).toBeGreaterThan(0);
    expect(Object.isFrozen(PUBLIC_STUN_SERVERS)).toBe(true);
  });
});
