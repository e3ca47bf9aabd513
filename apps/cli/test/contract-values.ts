// Values the CLI's JSON contracts name (issue 5) and argv several tests share.

/** `p2pd nat --json`: every `type`. */
export const NAT_TYPES = [
  "open-internet",
  "udp-firewall",
  "full-cone",
  "restricted-cone",
  "port-restricted-cone",
  "symmetric",
  "blocked",
];

/** `p2pd nat --json`: every `delta.kind`. */
export const DELTA_KINDS = [
  "not-applicable",
  "equal",
  "preserving",
  "independent",
  "dependent",
  "random",
];

/** An RFC 5780 `p2pd stun-server` on two loopback IPs and ephemeral ports, one JSON line. */
export const STUN_SERVER_ARGV = [
  "stun-server",
  "--ip",
  "127.0.0.1",
  "--ip",
  "127.0.0.2",
  "--port",
  "0",
  "--alt-port",
  "0",
  "--json",
];
