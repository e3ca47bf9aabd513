import { notYet } from "./not-yet.js";

export const command = notYet(
  "echo-server",
  "run a daemon that echoes every message",
  "--port N [--proto tcp|udp] [--json]",
);
