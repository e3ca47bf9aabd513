import { isIP } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import NetTransport from "irc-framework/src/transports/net.js";
import { SessionError } from "./errors.js";

/**
 * How one TLS connection is checked. `verify` (the default) checks the chain against `ca` (or the
 * system's roots) and the host name; a `pin` (SHA-256 of the server's certificate) replaces both, for
 * networks with self-signed certificates; `verify: false` without a pin checks nothing.
 */
export interface TlsPolicy {
  verify: boolean;
  /** PEM certificate(s) trusted instead of the system's roots. */
  ca?: string | Uint8Array | readonly (string | Uint8Array)[] | undefined;
  /** SHA-256 fingerprint of the server certificate, as normalizePin (servers.ts) returns it. */
  pin?: string | undefined;
  /** Host name the certificate must carry (and the SNI) when the server is reached by IP. */
  name?: string | undefined;
}

/** Code of the error a refused certificate (or a failed TLS handshake) ends a connection with. */
export const TLS_ERROR = "ERR_IRCDNS_TLS" as const;

function asBuffers(ca: NonNullable<TlsPolicy["ca"]>): (string | Buffer)[] {
  const list = Array.isArray(ca) ? ca : [ca];
  return list.map((c) => (typeof c === "string" ? c : Buffer.from(c)));
}

/**
 * irc-framework's TCP/TLS transport (4.14.0, pinned) with our TLS checks: it hands `tls.connect` no CA
 * and no identity check, so the TLS branch of connect() is redone here. A refused certificate ends the
 * connection before irc-framework hears "open", so nothing (no NICK, no SASL or NickServ password) is
 * written; the error is a SessionError with code ERR_IRCDNS_TLS.
 */
export function tlsTransport(policy: TlsPolicy, label: string): typeof NetTransport {
  return class VerifiedTransport extends NetTransport {
    tcpUp = false;
    secured = false;
    refused = false;

    override connect(): void {
      const o = this.options;
      if (!o.tls) {
        super.connect();
        return;
      }
      // What NetTransport.connect() does before creating its socket.
      this.disposeSocket();
      this.requested_disconnect = false;
      this.incoming_buffer = Buffer.alloc(0);
      if (!o.encoding || !this.setEncoding(o.encoding)) this.setEncoding("utf8");
      this.state = 1; // SOCK_CONNECTING
      const host = String(o.host);
      const sock: TLSSocket = tlsConnect({
        host,
        port: Number(o.port ?? 6697),
        // Node checks the certificate against `servername` when it is set, else against `host`.
        servername: policy.name ?? (isIP(host) ? undefined : host),
        // A pin decides alone (the certificate is usually self-signed); otherwise Node checks chain and name.
        rejectUnauthorized: policy.verify && !policy.pin,
        ...(policy.ca && !policy.pin ? { ca: asBuffers(policy.ca) } : {}),
      });
      this.socket = sock;
      this.tcpUp = false;
      this.secured = false;
      this.refused = false;
      // Registered before NetTransport's own listeners, so they run first.
      sock.once("connect", () => {
        this.tcpUp = true;
      });
      sock.once("secureConnect", () => {
        const got = sock.getPeerCertificate()?.fingerprint256;
        if (policy.pin && got !== policy.pin) {
          this.refused = true;
          sock.destroy(
            new SessionError(
              TLS_ERROR,
              `${label}: certificate ${got ?? "(none)"} does not match the pinned ${policy.pin}`,
            ),
          );
          return;
        }
        this.secured = true;
      });
      this._onSocketCreate(o, sock);
    }

    /** Withheld after a pin mismatch: "open" would make irc-framework write its greeting. */
    override onSocketFullyConnected(): void {
      if (this.refused) return;
      super.onSocketFullyConnected();
    }

    /** Errors between the TCP connect and the end of the handshake are TLS failures: typed as such. */
    override onSocketError(err: Error): void {
      const tls =
        err instanceof SessionError
          ? err
          : this.tcpUp && !this.secured
            ? new SessionError(
                TLS_ERROR,
                `${label}: TLS refused (${(err as { code?: string }).code ?? "error"}: ${err.message})`,
                { cause: err },
              )
            : err;
      super.onSocketError(tls);
    }
  };
}
