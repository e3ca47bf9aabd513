// A Daemon listens on many addresses, ports and protocols at once (P2PD's daemons page).
import { Daemon, type Message, pipeOpen } from "@p2pd/pipe";

class EchoDaemon extends Daemon {
  served = 0;

  // One handler for every server: TCP children and UDP sockets alike.
  override async onMessage(msg: Message): Promise<void> {
    this.served++;
    await msg.pipe.send(msg.data, msg.from);
  }
}

export default async function main(signal: AbortSignal): Promise<void> {
  const daemon = new EchoDaemon();
  // Two loopback targets x one ephemeral port x two protocols = four listeners.
  await daemon.listenAll(["127.0.0.1", "::1"], 0, ["tcp", "udp"], { signal });
  try {
    for (const s of daemon.servers) {
      const client = await pipeOpen(s.proto, undefined, s.local, { signal });
      await client.send(`hello ${s.proto}`);
      const reply = await client.recv({ timeout: 2000, signal });
      console.log(`${s.proto} [${s.local.host}]:${s.local.port} -> ${reply.toString()}`);
      await client.close();
    }
    console.log(`served ${daemon.served} messages`);
  } finally {
    await daemon.close();
  }
}
