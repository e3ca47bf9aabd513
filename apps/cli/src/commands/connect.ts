import { notYet } from "./not-yet.js";

export const command = notYet(
  "connect",
  "connect to a node by address or name and do an ECHO round trip",
  "ADDR|NAME [--strategies LIST] [--json]",
);
