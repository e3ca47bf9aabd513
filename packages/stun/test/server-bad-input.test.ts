import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { describe, expect, test } from "vitest";
import {
  ATTR,
  decodeMessage,
  encodeMessage,
  METHOD,
  StunMessage,
  StunServer,
} from "../src/index.js";
import { loopbackServerForFile, udpSink } from "./helpers.js";

// What the server does with malformed, unknown and oversized input: no crash, no amplification.
const server = loopbackServerForFile();

describe("server: bad input and amplification", () => {
  /** Sends one datagram; waits `silenceMs` for (unwanted) answers, or up to 3 s for a wanted one. */
  async function udpExchange(payload: Uint8Array, silenceMs?: number): Promise<Buffer[]> {
    const s = await udpSink();
    const got: Buffer[] = [];
    s.on("message", (m) => got.push(m));
    const first = new Promise((r) => s.once("message", r));
    s.send(payload, server().primary.port, server().primary.host);
    if (silenceMs !== undefined) await new Promise((r) => setTimeout(r, silenceMs));
    else await Promise.race([first, new Promise((r) => setTimeout(r, 3000))]);
    s.close();
    return got;
  }

  const valid = () => encodeMessage(new StunMessage({ method: METHOD.BINDING, cls: "request" }));

  test("malformed requests get no answer at all", async () => {
    const v = valid();
    const cases: Uint8Array[] = [
      v.subarray(0, 19), // truncated header
      Uint8Array.of(...v.subarray(0, 4), 0, 0, 0, 0, ...v.subarray(8)).map((b, i) =>
        i === 3 ? 4 : b,
      ), // length lies
      (() => {
        const b = v.slice();
        b[4] = 0x99; // wrong cookie, and not a plausible RFC 3489 message either: length lies
        b[3] = 8;
        return b;
      })(),
      (() => {
        const m = new StunMessage().addUint32(ATTR.LIFETIME, 1).addUint32(ATTR.LIFETIME, 2);
        return encodeMessage(m); // duplicate attribute
      })(),
      (() => {
        const m = new StunMessage().add(ATTR.CHANGE_REQUEST, Uint8Array.of(1, 2)); // bad CHANGE-REQUEST size
        return encodeMessage(m);
      })(),
      (() => {
        const b = encodeMessage(new StunMessage(), { fingerprint: true });
        b[b.length - 1] = (b[b.length - 1] ?? 0) ^ 1; // bad fingerprint
        return b;
      })(),
      encodeMessage(new StunMessage({ cls: "success" })), // not a request
      encodeMessage(new StunMessage({ cls: "indication" })),
      new Uint8Array(3000), // oversized
      Uint8Array.from(Buffer.from("GET / HTTP/1.1\r\n\r\n")),
    ];
    for (const c of cases) expect(await udpExchange(c, 60)).toHaveLength(0);
    expect(server().stats.dropped).toBeGreaterThanOrEqual(cases.length);
  });

  test("unknown comprehension-required attributes: 420 with UNKNOWN-ATTRIBUTES, within 5x", async () => {
    const m = new StunMessage().add(0x7777, new Uint8Array(4)).add(0x7778, new Uint8Array(0));
    const req = encodeMessage(m);
    const [ans = Buffer.alloc(0)] = await udpExchange(req);
    const d = decodeMessage(ans);
    expect(d.getErrorCode()?.code).toBe(420);
    expect(d.getUnknownAttributes()).toEqual([0x7777, 0x7778]);
    expect(ans.length).toBeLessThanOrEqual(5 * req.length);
  });

  test("no answer is more than 5x its request (IPv4, IPv6, PADDING, many unknowns, legacy)", async () => {
    const v6 = await new StunServer({
      ips: ["::1"],
      port: 0,
      altPort: 0,
      protocols: ["udp"],
      software: "a rather long software name for testing",
    }).listen();
    try {
      const requests: Uint8Array[] = [
        valid(),
        encodeMessage(new StunMessage(), { fingerprint: true }),
        encodeMessage(new StunMessage().addPadding(200)),
        encodeMessage(new StunMessage({ transactionId: new Uint8Array(16).fill(1) })),
        encodeMessage(
          (() => {
            const m = new StunMessage();
            for (let t = 0x4000; t < 0x4000 + 40; t++) m.add(t, new Uint8Array(0));
            return m;
          })(),
        ),
      ];
      for (const target of [server().primary, v6.primary]) {
        for (const req of requests) {
          const s = createSocket(target.family === 6 ? "udp6" : "udp4");
          await new Promise<void>((r) => s.bind(0, target.host, r));
          const got: Buffer[] = [];
          s.on("message", (m) => got.push(m));
          const answered = new Promise((r) => s.once("message", r));
          s.send(req, target.port, target.host);
          await Promise.race([answered, new Promise((r) => setTimeout(r, 3000))]);
          await new Promise((r) => setTimeout(r, 20)); // a second answer would be a bug: give it a moment
          s.close();
          expect(got.length).toBe(1);
          expect(got[0]?.length).toBeLessThanOrEqual(5 * req.length);
        }
      }
    } finally {
      await v6.close();
    }
  });

  test("TCP: garbage closes the connection without an answer; both framings answered", async () => {
    const port = server().primary.port;
    const talk = (bytes: Uint8Array) =>
      new Promise<{ data: Buffer; closed: boolean }>((resolve) => {
        const chunks: Buffer[] = [];
        const s = connect(port, "127.0.0.1", () => s.write(bytes));
        s.on("data", (d) => {
          chunks.push(d);
          s.end();
        });
        s.on("error", () => {});
        s.on("close", () => resolve({ data: Buffer.concat(chunks), closed: true }));
        setTimeout(() => s.destroy(), 1000);
      });
    const junk = await talk(
      Uint8Array.from(Buffer.from("\xff\xff garbage garbage garbage", "latin1")),
    );
    expect(junk.data.length).toBe(0);
    const plain = await talk(valid());
    expect(decodeMessage(plain.data).cls).toBe("success");
    const v = valid();
    const framed = await talk(Uint8Array.of(0, v.length, ...v));
    expect(framed.data.readUInt16BE(0)).toBe(framed.data.length - 2);
    expect(decodeMessage(framed.data.subarray(2)).cls).toBe("success");
  });
});
