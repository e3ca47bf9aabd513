import { type HostPort, hostPortKey, TraversalError } from "./errors.js";
import { DuplexInbox, type MessageDuplex } from "./message-queue.js";
import type { TurnClient } from "./turn-client.js";

export interface TurnRelayPipeOptions {
  /** Bind a channel for the peer (4-byte framing) instead of Send indications. Default true. */
  channel?: boolean;
  /** Close the TURN client when the pipe closes. Default true. */
  closeClient?: boolean;
  signal?: AbortSignal;
}

/**
 * A message-oriented duplex to one peer through a TURN allocation. Datagram semantics (UDP relay):
 * wrap it with `ReliableUdpStream` (see `turnReliableLink`) when order and delivery matter.
 */
export class TurnRelayPipe implements MessageDuplex {
  readonly local: HostPort;
  readonly remote: HostPort;
  private readonly inbox = new DuplexInbox();
  private isClosed = false;
  private readonly offData: () => void;
  private readonly offClose: () => void;

  constructor(
    private readonly client: TurnClient,
    peer: HostPort,
    private readonly closeClient = true,
  ) {
    this.local = client.relayed;
    this.remote = { host: peer.host, port: peer.port };
    const key = hostPortKey(peer);
    this.offData = client.onData((data, from) => {
      if (hostPortKey(from) !== key) return; // other peers of a shared allocation
      this.inbox.deliver(data);
    });
    this.offClose = client.onClose((err) => this.end(err));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  async send(data: Uint8Array | string): Promise<number> {
    if (this.isClosed) throw new TraversalError("ERR_CLOSED", "relay pipe closed");
    const b = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    this.client.send(this.remote, b);
    return b.length;
  }

  recv(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<Buffer> {
    return this.inbox.recv(opts);
  }

  onMessage(cb: (d: Buffer) => void): () => void {
    return this.inbox.onMessage(cb);
  }

  onEnd(cb: (err?: Error) => void): () => void {
    return this.inbox.onEnd(cb, this.isClosed);
  }

  private end(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.offData();
    this.offClose();
    this.inbox.end(err, new TraversalError("ERR_CLOSED", "relay pipe closed"));
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.end();
    if (this.closeClient) await this.client.close();
  }
}

/**
 * Opens a relay pipe to `peer`: installs the permission (and a channel unless `channel: false`)
 * on `client`, then returns the duplex. The peer must do the same towards our relayed address.
 */
export async function turnRelayPipe(
  client: TurnClient,
  peer: HostPort,
  opts: TurnRelayPipeOptions = {},
): Promise<TurnRelayPipe> {
  await client.createPermission(peer.host, { signal: opts.signal });
  if (opts.channel !== false) await client.bindChannel(peer, { signal: opts.signal });
  return new TurnRelayPipe(client, peer, opts.closeClient !== false);
}
