import net from "node:net";
import { describe, expect, test } from "vitest";
import { bundleTraversal, runChild } from "../../bench/connectivity-lib.mjs";
import {
  estimateClockOffset,
  meetingTime,
  peerClock,
  predictPorts,
  TraversalError,
  tcpPunch,
} from "../../src/traversal/index.js";

async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

async function runNode(code: string, timeoutMs = 20_000): Promise<string> {
  const r = await runChild(process.execPath, ["--input-type=module", "-e", code], timeoutMs);
  if (r.code !== 0) throw new Error(`child exited ${r.code}: ${r.err}${r.out}`);
  return r.out.trim();
}

/** An accept-mode punch on a free loopback port, listening by the time this resolves. */
async function acceptingPunch(opts: { role?: "responder" } = {}) {
  const port = await freeTcpPort();
  const punch = tcpPunch({
    localAddress: "127.0.0.1",
    localPort: port,
    remote: { host: "127.0.0.1", ports: [] },
    at: Date.now(),
    accept: true,
    ...opts,
    timeoutMs: 5000,
  });
  await new Promise((r) => setTimeout(r, 50));
  return { port, punch };
}

const peerScript = (lib: string, local: number, remote: number, at: number, word: string) => `
import { tcpPunch } from ${JSON.stringify(lib)};
const s = await tcpPunch({ localAddress: "127.0.0.1", localPort: ${local}, remote: { host: "127.0.0.1", ports: [${remote}] }, at: ${at}, timeoutMs: 5000 });
s.write(${JSON.stringify(word)});
const got = await new Promise((r) => s.once("data", (d) => r(d.toString())));
console.log(JSON.stringify({ local: s.localPort, remote: s.remotePort, got }));
s.end();
`;

describe("tcpPunch", () => {
  test("two processes meet by simultaneous open from fixed ports (no listener)", async () => {
    const lib = bundleTraversal();
    const [pa, pb] = [await freeTcpPort(), await freeTcpPort()];
    const at = Date.now() + 400;
    const [a, b] = await Promise.all([
      runNode(peerScript(lib, pa, pb, at, "from-a")),
      runNode(peerScript(lib, pb, pa, at, "from-b")),
    ]);
    expect(JSON.parse(a)).toEqual({ local: pa, remote: pb, got: "from-b" });
    expect(JSON.parse(b)).toEqual({ local: pb, remote: pa, got: "from-a" });
  }, 30_000);

  test("accept mode takes the peer's connection and refuses other hosts", async () => {
    const { port, punch } = await acceptingPunch();
    // A stranger (other loopback IP) is refused, then the peer gets in.
    const stranger = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" });
    const strangerClosed = new Promise<void>((r) => stranger.on("close", () => r()));
    stranger.on("error", () => {});
    await strangerClosed;
    const peer = net.connect({ host: "127.0.0.1", port });
    const s = await punch;
    expect(s.remotePort).toBe(
      await new Promise((r) => peer.once("connect", () => r(peer.localPort))),
    );
    peer.write("hi");
    expect(await new Promise((r) => s.once("data", (d) => r(d.toString())))).toBe("hi");
    s.destroy();
    peer.destroy();
    // The listener is gone after the punch.
    const again = net.connect({ host: "127.0.0.1", port });
    const e = await new Promise<NodeJS.ErrnoException>((r) => again.once("error", r));
    expect(e.code).toBe("ECONNREFUSED");
  });

  test("responder keeps the candidate carrying the initiator's selection byte", async () => {
    const { port, punch } = await acceptingPunch({ role: "responder" });
    // A candidate without the selection byte is dropped; the selected one keeps its payload.
    const loser = net.connect({ host: "127.0.0.1", port });
    loser.on("error", () => {});
    const loserClosed = new Promise<void>((r) => loser.on("close", () => r()));
    loser.write(Buffer.from([0x02]));
    await loserClosed;
    const chosen = net.connect({ host: "127.0.0.1", port });
    chosen.write(Buffer.from([0x01, ...Buffer.from("payload")]));
    const s = await punch;
    expect(await new Promise((r) => s.once("data", (d) => r(d.toString())))).toBe("payload");
    s.destroy();
    chosen.destroy();
  });

  test("a peer that never shows up ends with ERR_PUNCH_TIMEOUT and closes the mapping keeper", async () => {
    const [pa, pb] = [await freeTcpPort(), await freeTcpPort()];
    let closed = false;
    const err = await tcpPunch({
      localAddress: "127.0.0.1",
      localPort: pa,
      remote: { host: "127.0.0.1", ports: [pb] },
      at: Date.now(),
      timeoutMs: 300,
      mapping: { close: () => (closed = true) },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(TraversalError);
    expect(err.code).toBe("ERR_PUNCH_TIMEOUT");
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(closed).toBe(true);
    // The local port is free again: nothing leaked.
    const srv = net.createServer();
    await new Promise<void>((r, j) => {
      srv.once("error", j);
      srv.listen(pa, "127.0.0.1", () => r());
    });
    srv.close();
  });

  test("abort mid-punch rejects with ERR_ABORTED", async () => {
    const [pa, pb] = [await freeTcpPort(), await freeTcpPort()];
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(
      tcpPunch({
        localAddress: "127.0.0.1",
        localPort: pa,
        remote: { host: "127.0.0.1", ports: [pb] },
        at: Date.now(),
        signal: ac.signal,
      }),
    ).rejects.toMatchObject({ code: "ERR_ABORTED" });
  });

  test("implausible meeting times fail with ERR_PUNCH_TIMING", async () => {
    const base = { localPort: 1, remote: { host: "127.0.0.1", ports: [2] } };
    await expect(tcpPunch({ ...base, at: Date.now() + 3_600_000 })).rejects.toMatchObject({
      code: "ERR_PUNCH_TIMING",
    });
    await expect(tcpPunch({ ...base, at: Date.now() - 60_000 })).rejects.toMatchObject({
      code: "ERR_PUNCH_TIMING",
    });
    await expect(
      tcpPunch({
        ...base,
        remote: { host: "127.0.0.1", ports: Array.from({ length: 65 }, (_, i) => 2000 + i) },
        at: Date.now(),
      }),
    ).rejects.toMatchObject({ code: "ERR_BAD_ARGUMENT" });
    await expect(tcpPunch({ ...base, at: Number.NaN })).rejects.toMatchObject({
      code: "ERR_PUNCH_TIMING",
    });
    await expect(
      tcpPunch({ ...base, remote: { host: "peer.example", ports: [2] }, at: Date.now() }),
    ).rejects.toMatchObject({ code: "ERR_BAD_ARGUMENT" });
  });
});

describe("port prediction and clock", () => {
  test("predictPorts follows the delta and wraps into the dynamic range", () => {
    expect(predictPorts(1, 40000, 3)).toEqual([40001, 40002, 40003]);
    expect(predictPorts({ kind: "independent", value: 2 }, 65534, 2)).toEqual([1024, 1026]);
    expect(predictPorts(-1, 1025, 2)).toEqual([1024, 65535]);
    expect(predictPorts({ kind: "preserving", value: 0 }, 5000, 4)).toEqual([5000]);
    expect(() => predictPorts({ kind: "random", value: 0 }, 5000, 4)).toThrow(TraversalError);
    expect(() => predictPorts(1, 70000, 4)).toThrow(TraversalError);
  });

  test("estimateClockOffset recovers a skew over an asymmetric, jittery path", async () => {
    // Simulated peer 1234 ms ahead; each probe takes 5-25 ms each way; one probe fails.
    let virtual = 1_000_000;
    const now = () => virtual;
    let i = 0;
    const ping = async () => {
      i++;
      if (i === 2) throw new Error("lost");
      virtual += 5 + ((i * 7) % 20);
      const peer = virtual + 1234;
      virtual += 5 + ((i * 3) % 20);
      return peer;
    };
    const est = await estimateClockOffset(ping, { samples: 6, now });
    expect(est.samples).toBe(5);
    expect(Math.abs(est.offsetMs - 1234)).toBeLessThanOrEqual(est.rttMs / 2);
    expect(peerClock(est)() - Date.now()).toBeGreaterThanOrEqual(1233);
    expect(meetingTime(100, { now: 0 })).toBe(200);
    await expect(
      estimateClockOffset(async () => Promise.reject(new Error("down")), { samples: 2 }),
    ).rejects.toMatchObject({
      code: "ERR_CLOCK",
    });
  });
});
