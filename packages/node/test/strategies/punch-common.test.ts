// Pure logic of the punch signaling (src/strategies/punch-common.ts): the clock read from an
// offer and its answer, which mappings may be guessed, what an early offer's answerer waits for.
import { describe, expect, test } from "vitest";
import type { AddressEntry } from "../../src/address.js";
import {
  advertise,
  answerClock,
  checkGuess,
  guessMapping,
  readOffer,
} from "../../src/strategies/punch-common.js";
import type { Candidate, ResponderContext, SignalMessage } from "../../src/strategies/strategy.js";

// NAT codes: 4 restricted cone, 5 port-restricted, 6 symmetric; delta 2 equal, 4 independent, 6 random.
const entry = (ext: string, internal: string, type: number, delta: number): AddressEntry => ({
  netifaceIndex: 0,
  ifIndex: 0,
  ext,
  internal,
  port: 5000,
  nat: { type, delta: { type: delta, value: delta === 4 ? 1 : 0 } },
});
const pair = (local: AddressEntry, remote: AddressEntry, sameLan = false): Candidate => ({
  family: 4,
  local,
  remote,
  sameLan,
  host: sameLan ? remote.internal : remote.ext,
  port: remote.port,
});
const cone = (ext: string) => entry(ext, "10.0.0.2", 5, 2);

describe("the peer's clock from the offer and its answer (NTP's four timestamps)", () => {
  test("offset and RTT without the answerer's own time between the two", () => {
    // Peer clock = ours + 30 000 ms; 40 ms each way; the answerer held the offer 500 ms (its STUN).
    const t0 = 1_000_000;
    const rx = t0 + 40 + 30_000;
    const tx = rx + 500;
    const t3 = t0 + 40 + 500 + 40;
    expect(answerClock(t0, t3, rx, tx)).toEqual({ offsetMs: 30_000, rttMs: 80 });
  });

  test("an answer without timestamps (an older peer) or with impossible ones gives none", () => {
    expect(answerClock(0, 100, undefined, undefined)).toBeUndefined();
    expect(answerClock(0, 100, "1", 2)).toBeUndefined();
    expect(answerClock(0, 100, 50, 40)).toBeUndefined(); // left before it arrived
    expect(answerClock(0, 100, 0, 500)).toBeUndefined(); // held longer than the round trip
    expect(answerClock(0, 100, Number.NaN, 1)).toBeUndefined();
  });
});

describe("mappings read off our address instead of STUN", () => {
  test("only a NAT that keeps local ports, off-LAN, with both sides' mapped ports", () => {
    expect(guessMapping(pair(cone("203.0.113.1"), cone("203.0.113.2")))).toBe(true);
    // Same LAN: the NIC address is used anyway.
    expect(guessMapping(pair(cone("203.0.113.1"), cone("203.0.113.1"), true))).toBe(false);
    // Untested NAT, or a NAT that did not keep ports in the NAT test.
    expect(guessMapping(pair(entry("203.0.113.1", "10.0.0.2", 0, 0), cone("203.0.113.2")))).toBe(
      false,
    );
    expect(guessMapping(pair(entry("203.0.113.1", "10.0.0.2", 5, 3), cone("203.0.113.2")))).toBe(
      false,
    );
    // A peer whose ports are predicted (sequential) or unknown (random): measured timing needed.
    const seq = entry("203.0.113.2", "10.0.1.2", 6, 4);
    const rnd = entry("203.0.113.2", "10.0.1.2", 6, 6);
    expect(guessMapping(pair(cone("203.0.113.1"), seq))).toBe(false);
    expect(guessMapping(pair(cone("203.0.113.1"), rnd))).toBe(false);
  });

  test("a guess STUN contradicts stops the punch with ERR_PUNCH_TIMEOUT; a confirmed one does not", async () => {
    const logs: string[] = [];
    const wrong = new AbortController();
    checkGuess(
      Promise.resolve({ host: "203.0.113.1", port: 4001 }),
      { host: "203.0.113.1", port: 4000 },
      wrong,
      (l) => logs.push(l),
    );
    const right = new AbortController();
    checkGuess(
      Promise.resolve({ host: "203.0.113.1", port: 4000 }),
      { host: "203.0.113.1", port: 4000 },
      right,
      () => {},
    );
    const silent = new AbortController();
    checkGuess(Promise.reject(new Error("no STUN")), { host: "x", port: 1 }, silent, () => {});
    await new Promise((r) => setTimeout(r, 0));
    expect(wrong.signal.aborted).toBe(true);
    expect(wrong.signal.reason).toMatchObject({ code: "ERR_PUNCH_TIMEOUT" });
    expect(logs[0]).toContain("4001");
    expect(right.signal.aborted).toBe(false);
    expect(silent.signal.aborted).toBe(false); // STUN could not tell: keep the guess
  });

  test("a guessed side advertises its one port (no prediction)", () => {
    const c = pair(cone("203.0.113.1"), cone("203.0.113.2"));
    expect(advertise({ host: "203.0.113.1", ports: [4000] }, c, 170)).toEqual([4000]);
  });
});

describe("an offer that leaves before the offerer's mapping", () => {
  const c = pair(cone("203.0.113.1"), cone("203.0.113.2"));
  const ctx = (waits: string[], sent: [string, unknown][]) => {
    let deliver: ((m: SignalMessage) => void) | undefined;
    const x = {
      candidates: [c],
      signal: new AbortController().signal,
      log: () => {},
      send: async (type: string, body: unknown) => {
        sent.push([type, body]);
      },
      waitFor: (type: string) => {
        waits.push(type);
        return new Promise<SignalMessage>((r) => {
          deliver = r;
        });
      },
    } as unknown as ResponderContext;
    return { x, deliver: (m: Partial<SignalMessage>) => deliver?.(m as SignalMessage) };
  };
  const offer = (body: Record<string, unknown>): SignalMessage => ({
    type: "UDP_OFFER",
    pipeId: "a".repeat(32),
    from: "",
    ...body,
  });

  test("the answerer waits for UDP_MAPPED from the start, then checks its target", async () => {
    const waits: string[] = [];
    const { x, deliver } = ctx(waits, []);
    const pending = readOffer(offer({ family: 4 }), x, "UDP");
    // Caught before any await: a MAPPED right behind the offer is not lost.
    expect(waits).toEqual(["UDP_MAPPED"]);
    const o = await pending;
    expect(o?.inline).toBe(false);
    deliver({ host: "203.0.113.2", ports: [4000], rttMs: 170 });
    await expect(o?.target).resolves.toEqual({ host: "203.0.113.2", ports: [4000], rttMs: 170 });
  });

  test("a MAPPED naming a third party, or saying the offerer has no mapping, rejects", async () => {
    for (const body of [
      { host: "198.51.100.7", ports: [4000], rttMs: 1 },
      { error: "no mapping: timeout" },
    ]) {
      const { x, deliver } = ctx([], []);
      const o = await readOffer(offer({ family: 4 }), x, "UDP");
      deliver(body);
      await expect(o?.target).rejects.toMatchObject({ code: "ERR_PEER_REFUSED" });
    }
  });

  test("an offer with its side inline needs no MAPPED; rttMs may be absent", async () => {
    const waits: string[] = [];
    const { x } = ctx(waits, []);
    const o = await readOffer(offer({ family: 4, host: "203.0.113.2", ports: [4000] }), x, "UDP");
    expect(waits).toEqual([]);
    expect(o?.inline).toBe(true);
    await expect(o?.target).resolves.toEqual({ host: "203.0.113.2", ports: [4000] });
  });

  test("an inline offer naming a third party is answered with an error, not punched", async () => {
    const sent: [string, unknown][] = [];
    const { x } = ctx([], sent);
    const o = await readOffer(offer({ family: 4, host: "198.51.100.7", ports: [4000] }), x, "UDP");
    expect(o).toBeUndefined();
    expect(sent[0]?.[0]).toBe("UDP_ANSWER");
    expect(sent[0]?.[1]).toMatchObject({ error: expect.stringContaining("198.51.100.7") });
  });
});
