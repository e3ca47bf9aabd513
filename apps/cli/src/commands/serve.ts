import { notYet } from "./not-yet.js";

export const command = notYet(
  "serve",
  "run a node with the REST API and dashboard on loopback",
  "[--port 12333] [--json]",
);
