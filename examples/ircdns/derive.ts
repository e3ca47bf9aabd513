// Everything IRCDNS derives from a seed and a name, offline: per-server accounts and channel names.
import { deriveAccount, deriveChannel, parseServer } from "@p2pd/ircdns";

export default async function main(): Promise<void> {
  const seed = new TextEncoder().encode("example seed: use 32 random bytes in real life"); // >= 24 bytes
  const [name, tld, pw] = ["alice", "node", ""];
  for (const s of ["ircs://irc.example.org:6697", "127.0.0.1:16667", "127.0.0.1:26667"]) {
    const server = parseServer(s);
    const acct = deriveAccount(seed, server.domain); // NickServ identity on that network
    const { chan } = deriveChannel(name, tld, pw, server.domain); // Argon2i time-lock, ~20-70 ms
    console.log(`${server.domain.padEnd(18)} nick ${acct.nick}  channel ${chan}`);
  }
}
