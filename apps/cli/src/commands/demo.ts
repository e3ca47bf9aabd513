import { notYet } from "./not-yet.js";

export const command = notYet(
  "demo",
  "offline demo: two nodes connect on this machine and echo",
  "[--json]",
);
