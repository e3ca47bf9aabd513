import { describe, expect, test } from "vitest";
import { parseInfo, parseProfile } from "../../../labs/natlab/lab.js";

// `natlab info` output -> typed info (pure; the lab itself is exercised by lab.test.ts).
describe("labs/natlab/lab.ts parseInfo", () => {
  const text = [
    "NATLAB_STATE=/tmp/natlab-xy",
    "NATLAB_SCENARIO='a=open b=cgnat'",
    "NATLAB_HOSTS='a1 b1'",
    "PUB_NS=xy-pub",
    "PUB_IP4=198.51.100.10",
    "PUB_IP4_ALT=198.51.100.11",
    "PUB_IP6=2001:db8::10",
    "PUB_IP6_ALT=2001:db8::11",
    "STUN_IMPL=coturn",
    "STUN_PORT=3478",
    "STUN_ALT_PORT=3479",
    "P2PD_STUN_PORT=3490",
    "P2PD_STUN_ALT_PORT=3491",
    "TURN_PORT=3478",
    "TURN_USER=natlab",
    "TURN_PASS=natlab",
    "TURN_REALM=natlab.test",
    "MQTT_URL=mqtt://198.51.100.10:1883",
    "a1_NS=xy-a1",
    "a1_NET=a",
    "a1_NAT=open",
    "a1_IP4=203.0.113.130",
    "a1_IP6=2001:db8:1::11",
    "a1_PUBLIC_IP4=203.0.113.11",
    "b1_NS=xy-b1",
    "b1_NET=b",
    "b1_NAT=port-restricted+cgnat:port-restricted",
    "b1_IP4=10.200.2.11",
    "b1_IP6=",
    "b1_PUBLIC_IP4=203.0.113.42",
    "garbage line without equals",
  ].join("\n");

  test("hosts, servers and raw keys", () => {
    const info = parseInfo(text);
    expect(info.raw.NATLAB_SCENARIO).toBe("a=open b=cgnat");
    expect(info.hosts.map((h) => h.name)).toEqual(["a1", "b1"]);
    expect(info.hosts[1]).toEqual({
      name: "b1",
      ns: "xy-b1",
      net: "b",
      nat: "port-restricted+cgnat:port-restricted",
      ip4: "10.200.2.11",
      ip6: "",
      publicIp4: "203.0.113.42",
    });
    expect(info.pub).toEqual({
      ns: "xy-pub",
      ip4: "198.51.100.10",
      ip4Alt: "198.51.100.11",
      ip6: "2001:db8::10",
      ip6Alt: "2001:db8::11",
    });
    expect(info.stun).toEqual({ impl: "coturn", port: 3478, altPort: 3479 });
    expect(info.p2pdStun).toEqual({ port: 3490, altPort: 3491 });
    expect(info.turn).toEqual({ port: 3478, user: "natlab", pass: "natlab", realm: "natlab.test" });
  });

  test("link profiles: per network, pub's, and the echo service", () => {
    const info = parseInfo(
      [
        "NATLAB_NETS='a b'",
        "NATLAB_PROFILE=40:5:1",
        "PUB_PROFILE=0:0:0",
        "a_PROFILE=40:5:1",
        "b_PROFILE=150:20:3.5",
        "ECHO=198.51.100.10:7",
      ].join("\n"),
    );
    expect(info.profiles).toEqual({
      a: { delayMs: 40, jitterMs: 5, lossPct: 1 },
      b: { delayMs: 150, jitterMs: 20, lossPct: 3.5 },
    });
    expect(info.pubProfile).toEqual({ delayMs: 0, jitterMs: 0, lossPct: 0 });
    expect(info.echo).toBe("198.51.100.10:7");
    // an older lab without profile keys: no impairment
    expect(parseProfile("")).toEqual({ delayMs: 0, jitterMs: 0, lossPct: 0 });
  });

  test("no @p2pd/stun server => p2pdStun absent", () => {
    expect(parseInfo("NATLAB_HOSTS=''\nSTUN_PORT=3478").p2pdStun).toBeUndefined();
    expect(parseInfo("").hosts).toEqual([]);
  });
});
