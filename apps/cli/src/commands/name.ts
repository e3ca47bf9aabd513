import { notYet } from "./not-yet.js";

export const command = notYet(
  "name",
  "register or look up an IRCDNS name",
  "register|lookup NAME.TLD [--value V] [--seed-file F] [--irc-servers LIST] [--json]",
);
