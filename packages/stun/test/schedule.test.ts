import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  decodeMessage,
  encodeMessage,
  type MessageListener,
  StunClient,
  type StunEndpoint,
  StunMessage,
  type StunTransport,
} from "../src/index.js";

// Pure timing logic: a recording transport under fake timers checks the default RFC 8489 §6.2.1 schedule
// (RTO 500 ms doubling, Rc = 7, final wait Rm × RTO = 16 × 500), which real sockets would need 40 s for.
function recordingTransport(protocol: "udp" | "tcp") {
  const sends: number[] = [];
  let listener: MessageListener | undefined;
  let last: Uint8Array | undefined;
  const t0 = Date.now();
  const transport: StunTransport = {
    protocol,
    send: (data) => {
      sends.push(Date.now() - t0);
      last = data;
    },
    subscribe: (m) => {
      listener = m;
      return () => {
        listener = undefined;
      };
    },
    local: () => ({ host: "127.0.0.1", port: 40000, family: 4 }),
    close: () => {},
  };
  const answer = (from: StunEndpoint) => {
    const req = decodeMessage(last as Uint8Array);
    const res = new StunMessage({ cls: "success", transactionId: req.transactionId });
    res.addAddress(0x0020, { host: "192.0.2.7", port: 4242 });
    listener?.(encodeMessage(res), from);
  };
  return { transport, sends, answer };
}

const server: StunEndpoint = { host: "127.0.0.1", port: 3478, family: 4 };

describe("client retransmission schedule (defaults)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("UDP: sends at 0, 500, 1500, 3500, 7500, 15500, 31500 ms; ERR_STUN_TIMEOUT at 39500", async () => {
    const { transport, sends } = recordingTransport("udp");
    const c = new StunClient(transport);
    let settled: unknown;
    const p = c.request(server).then(
      () => (settled = "resolved"),
      (e: { code?: string }) => (settled = e.code),
    );
    await vi.advanceTimersByTimeAsync(39_499);
    expect(sends).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(settled).toBe("ERR_STUN_TIMEOUT");
    expect(vi.getTimerCount()).toBe(0);
  });

  test("an answer stops the retransmissions and clears every timer", async () => {
    const { transport, sends, answer } = recordingTransport("udp");
    const c = new StunClient(transport);
    const p = c.binding(server);
    await vi.advanceTimersByTimeAsync(1600);
    answer(server);
    const r = await p;
    expect(r.mapped).toMatchObject({ host: "192.0.2.7", port: 4242 });
    expect(sends).toEqual([0, 500, 1500]);
    expect(vi.getTimerCount()).toBe(0);
  });

  test("TCP: one send, no retransmission, ERR_STUN_TIMEOUT after Ti = 39500 ms", async () => {
    const { transport, sends } = recordingTransport("tcp");
    const c = new StunClient(transport);
    let code: string | undefined;
    const p = c.request(server).catch((e: { code?: string }) => {
      code = e.code;
    });
    await vi.advanceTimersByTimeAsync(39_499);
    expect(code).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(sends).toEqual([0]);
    expect(code).toBe("ERR_STUN_TIMEOUT");
  });

  test("timeoutMs caps the schedule; abort mid-schedule is ERR_STUN_ABORTED", async () => {
    const a = recordingTransport("udp");
    const capped = new StunClient(a.transport).request(server, { timeoutMs: 2000 });
    const codeA = capped.catch((e: { code?: string }) => e.code);
    await vi.advanceTimersByTimeAsync(2000);
    expect(await codeA).toBe("ERR_STUN_TIMEOUT");
    expect(a.sends).toEqual([0, 500, 1500]);

    const b = recordingTransport("udp");
    const ac = new AbortController();
    const aborted = new StunClient(b.transport).request(server, { signal: ac.signal });
    const codeB = aborted.catch((e: { code?: string }) => e.code);
    await vi.advanceTimersByTimeAsync(700);
    ac.abort();
    expect(await codeB).toBe("ERR_STUN_ABORTED");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(b.sends).toEqual([0, 500]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
