import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bundleTraversal, canRunLab, Lab, NAT_OF } from "../../bench/connectivity-lib.mjs";

// Keep-alives hold a punched UDP path open over a NAT that drops idle UDP mappings quickly.
// Scaled: natlab's short-timeout NAT forgets an idle mapping after 3 s (home routers: 30-300 s);
// the stream sits idle for 12 s (4 lifetimes), then the far side speaks first, so only a mapping
// still open on the short-timeout side lets it in. The same keep-alive period (2 s, the stream's
// default) holds any mapping that lives longer than that, for as long as the stream is open: the
// 10-minute idle claim rests on that, not on a 10-minute test. Control: without keep-alives the
// same message is dropped, so the test sees the NAT's timeout and not an idle-tolerant NAT.
const skip = canRunLab();
const IDLE_MS = 12_000;
const PR = NAT_OF["port-restricted"] ?? { type: "port-restricted-cone" };

describe.skipIf(skip !== undefined)(
  `keep-alives over a short UDP mapping timeout (natlab)${skip ? ` (skipped: ${skip})` : ""}`,
  () => {
    const lab = new Lab("ka-", "/tmp/natlab-ka");
    let lib = "";
    let n = 0;
    beforeAll(async () => {
      lib = bundleTraversal();
      lab.up(["a=short-timeout,udp-timeout=3", "b=port-restricted"]);
      await lab.startRendezvous();
    }, 90_000);
    afterAll(() => lab.down(), 30_000);

    const idleTrial = (keepAliveMs: number) =>
      lab.trial({
        lib,
        a: "a1",
        b: "b1",
        natA: PR,
        natB: PR,
        strategy: "udp-punch",
        room: `ka${process.pid}-${n++}`,
        idleMs: IDLE_MS,
        keepAliveMs,
        timeoutMs: 60_000,
      });

    test("a 3 s mapping timeout, 12 s idle: with 2 s keep-alives the far side's message still arrives", async () => {
      const r = await idleTrial(2000);
      expect(r.ok).toBe(true);
      expect(r.a.late).toBe(true);
    }, 70_000);

    test("control: without keep-alives the mapping expired and the same message is dropped", async () => {
      const r = await idleTrial(10 * 60_000);
      expect(r.ok).toBe(true);
      expect(r.a.late).toBe(false);
    }, 70_000);
  },
);
