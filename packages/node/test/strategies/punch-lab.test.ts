// Punch timing on an impaired path in the NAT lab: two port-restricted home networks, 40 ms
// +-5 ms and 1 % loss on each uplink (a ~170 ms home-to-home RTT). Our offer leaves before our
// mapping, both NATs keep local ports (mappings read off the address, checked by STUN beside the
// punch) and the peer's clock comes with its answer, so a punch needs the offer, the answer, the
// crossing and the secure handshake: about 3 RTT (issue 13's target: 3 RTT + 150 ms).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labUnavailable, type NodeLab, type Served, startNodeLab } from "../lab/harness.js";

const why = labUnavailable();
const PROFILE = "40ms:5ms:1%";
// Four impaired legs per home-to-home round trip, plus the jitter's mean excess.
const RTT = 4 * 40 + 10;
// The target plus a loaded host's scheduling (this box is shared): the previous code
// needed ~4.5 RTT for a TCP punch, over this bound.
const BOUND_MS = 3 * RTT + 150 + 150;
const WAIT = ["--nat-wait", "20000"];

describe.skipIf(why !== undefined)(`punch timing at ${PROFILE} (natlab, prefix pt-)`, () => {
  let nl: NodeLab;
  let c1: Served;

  beforeAll(async () => {
    nl = await startNodeLab({
      scenarios: [`b=port-restricted,profile=${PROFILE}`, `c=port-restricted,profile=${PROFILE}`],
      prefix: "pt-",
      state: "/tmp/natlab-pt",
      outDir: "punch-timing",
    });
    c1 = await nl.serve("c1", WAIT);
  }, 180_000);

  afterAll(async () => {
    await nl?.stop();
  }, 60_000);

  test.each(["tcp-punch", "udp-punch"])(
    `%s connects within 3 RTT + 150 ms (+150 ms for a loaded host; best of 3: a lost SYN or probe costs a retransmission)`,
    async (strategy) => {
      expect(c1.nat?.type).toBe(5);
      const times: number[] = [];
      for (let i = 0; i < 3 && !(times.length > 0 && Math.min(...times) <= BOUND_MS); i++) {
        const r = await nl.connectFrom("b1", c1.addr, [
          "--family",
          "4",
          "--strategies",
          strategy,
          ...WAIT,
        ]);
        expect(r, JSON.stringify(r)).toMatchObject({ strategy, echo: true });
        times.push(r.ms);
      }
      expect(
        Math.min(...times),
        `connect times ${times.map(Math.round).join(", ")} ms`,
      ).toBeLessThanOrEqual(BOUND_MS);
    },
    120_000,
  );
});
