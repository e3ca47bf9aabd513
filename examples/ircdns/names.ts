// Register, store and look up a name on several IRC networks at once (a quorum decides).
// The servers here are the loopback ports of the repo's IRC lab (labs/irc-lab); where no
// network listens, a typed error comes back at once instead of a hang.
import { randomBytes } from "node:crypto";
import { IRCDNS, IrcDnsError } from "@p2pd/ircdns";

export default async function main(signal: AbortSignal): Promise<void> {
  const seed = randomBytes(32); // keep it: it is the name's only credential
  const name: [string, string, string] = [`ex${randomBytes(3).toString("hex")}`, "node", ""];
  let dns: IRCDNS | undefined;
  try {
    dns = await IRCDNS.start({
      seed,
      servers: "127.0.0.1:16667,127.0.0.1:26667,127.0.0.1:36667",
      signal,
    });
    await dns.register(name);
    await dns.store("203.0.113.7:4000", name);
    const { value } = await dns.lookup(name); // works without the seed too
    console.log(`${name[0]}.${name[1]} -> ${value}`);
  } catch (e) {
    if (!(e instanceof IrcDnsError)) throw e;
    console.log(`IRCDNS unavailable here: ${e.code}`);
  } finally {
    await dns?.close();
  }
}
