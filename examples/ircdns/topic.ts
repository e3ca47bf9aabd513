// Sign a value into a topic the way IRCDNS stores it, read it back, and watch tampering fail.
import {
  BadTopicError,
  deriveChannel,
  deriveSigningKey,
  packTopic,
  signerId,
  unpackTopic,
} from "@p2pd/ircdns";

export default async function main(): Promise<void> {
  const seed = new Uint8Array(32).fill(42);
  const [name, tld, pw] = ["alice", "node", ""];
  const { chan, timeLock } = deriveChannel(name, tld, pw, "irc.example.org");
  const { priv } = deriveSigningKey(name, tld, pw, seed); // one key per name, on every server
  const topic = packTopic({ value: "203.0.113.7:4000", priv, timeLock, time: Date.now() / 1000 });
  console.log(`${chan} topic (${topic.length} chars): ${topic}`);

  const rec = unpackTopic(topic, timeLock); // readers need the name (for the time-lock), not the seed
  console.log(`value ${rec.value}, signed by the owner: ${rec.ids.includes(signerId(priv))}`);

  const tampered = topic.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
  try {
    const bad = unpackTopic(tampered, timeLock);
    console.log(`tampered topic, owner's key recovered: ${bad.ids.includes(signerId(priv))}`);
  } catch (e) {
    if (!(e instanceof BadTopicError)) throw e;
    console.log(`tampered topic rejected: ${e.code}`);
  }
}
