import { notYet } from "./not-yet.js";

export const command = notYet(
  "stun-server",
  "run an RFC 5780 STUN server",
  "--ip A [--ip B] --port 3478 [--alt-port 3479] [--json]",
);
