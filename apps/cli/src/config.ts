import { node as p2p } from "p2pd";
import { CliError, EXIT } from "./command.js";

/**
 * The server lists in effect for this run: bundled, changed by the config file
 * ($P2PD_CONFIG or $XDG_CONFIG_HOME/p2pd/config.json). A bad file is a usage error (exit 2) with
 * one line naming the file and the field.
 */
export async function effectiveLists(
  signal?: AbortSignal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<p2p.ServerLists> {
  return p2p.effectiveServers(await loadConfig(signal, env));
}

/** The IRC networks for names in effect: the public defaults, changed by the config's `irc`. */
export async function effectiveIrc(
  signal?: AbortSignal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  return p2p.effectiveIrcServers(await loadConfig(signal, env));
}

async function loadConfig(
  signal: AbortSignal | undefined,
  env: NodeJS.ProcessEnv,
): Promise<p2p.ServerConfig | undefined> {
  try {
    return await p2p.loadServerConfig({ env, signal });
  } catch (err) {
    if (err instanceof p2p.ServerConfigError) throw new CliError(err.code, err.message, EXIT.USAGE);
    throw err;
  }
}
