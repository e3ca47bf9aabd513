import type { Command } from "../command.js";
import { command as connect } from "./connect.js";
import { command as demo } from "./demo.js";
import { command as doctor } from "./doctor.js";
import { command as echoServer } from "./echo-server.js";
import { command as interfaces } from "./interfaces.js";
import { command as name } from "./name.js";
import { command as nat } from "./nat.js";
import { command as node } from "./node.js";
import { command as portmap } from "./portmap.js";
import { command as serve } from "./serve.js";
import { command as servers } from "./servers.js";
import { command as stun } from "./stun.js";
import { command as stunServer } from "./stun-server.js";

/** Every subcommand, in --help order. A subcommand is one file in this folder. */
export const commands: Command[] = [
  demo,
  interfaces,
  echoServer,
  stun,
  stunServer,
  nat,
  portmap,
  doctor,
  name,
  node,
  connect,
  serve,
  servers,
];
