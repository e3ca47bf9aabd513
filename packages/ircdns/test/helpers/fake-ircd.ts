// A tiny lying IRC network for tests: it accepts every NickServ/ChanServ command, claims success,
// and serves whatever topic the test plants (e.g. a forged one) instead of what was stored.
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";

export interface FakeIrcd {
  port: number;
  /** Topic served for a channel on JOIN (overrides what clients stored). */
  plant(chan: string, topic: string): void;
  /** Topics clients asked ChanServ to set. */
  stored: Map<string, string>;
  /** `legacy` networks: channels registered, with the password and description given. */
  registered: Map<string, { founder: string; password: string; description: string }>;
  /** Every line received, on every connection (after TLS decryption). */
  received: string[];
  /** TCP connections accepted (with TLS, also those whose handshake then failed). */
  connections: number;
  close(): Promise<void>;
}

/**
 * Self-signed test certificates (P-256, CN=localhost, SAN localhost/127.0.0.1/::1, valid to 2126), made
 * once with openssl for these tests only: "good" and "other" (a different key, same names).
 */
export function testCert(which: "good" | "other"): { key: string; cert: string } {
  const dir = join(import.meta.dirname, "tls");
  return {
    key: readFileSync(join(dir, `${which}-key.pem`), "utf8"),
    cert: readFileSync(join(dir, `${which}-cert.pem`), "utf8"),
  };
}

/**
 * `vanishOnJoin`: the network accepts logins, then drops the connection at the first JOIN.
 * `restoreMs`: behave like services recreating an empty registered channel: no 332 on JOIN (331 to a
 * TOPIC query), then the planted topic arrives as a ChanServ TOPIC message after this many ms.
 * `refuseRegister`: ChanServ INFO says the channel is free, but ChanServ REGISTER is refused.
 * `legacy`: ChanServ speaks the older forms (IRCServices / Epona / Anope 1.8 wording, as on the
 * networks P2PD flagged `chan_serv: [password, description]` and `set_topic: set`): REGISTER needs a
 * password and a description, there is no TOPIC command, `SET #chan TOPIC t` sets the topic.
 */
export async function startFakeIrcd(
  opts: {
    vanishOnJoin?: boolean;
    restoreMs?: number;
    refuseRegister?: boolean;
    legacy?: boolean;
    /** `legacy`: ChanServ's whole answer to a REGISTER without password (default: a syntax line). */
    legacyRegisterReply?: string;
    /** Serve TLS with this key and certificate. */
    tls?: { key: string; cert: string };
  } = {},
): Promise<FakeIrcd> {
  const planted = new Map<string, string>();
  const stored = new Map<string, string>();
  const registered = new Map<string, { founder: string; password: string; description: string }>();
  const received: string[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const onClient = (sock: Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    let nick = "*";
    const joined = new Set<string>();
    let buf = "";
    const send = (l: string) => sock.write(`${l}\r\n`);
    const notice = (from: string, text: string) =>
      send(`:${from}!${from}@services.fake.lab NOTICE ${nick} :${text}`);
    const legacyChanServ = (verb: string, words: string[], text: string) => {
      const chan = words[1] ?? "";
      const reg = registered.get(chan.toLowerCase());
      if (verb === "INFO") {
        if (!reg) notice("ChanServ", `Channel ${chan} isn't registered.`);
        else {
          notice("ChanServ", `Information for channel ${chan}:`);
          notice("ChanServ", `        Founder: ${reg.founder}`);
          notice("ChanServ", `    Description: ${reg.description}`);
        }
      } else if (verb === "REGISTER") {
        if (words.length < 4 && opts.legacyRegisterReply !== undefined) {
          notice("ChanServ", opts.legacyRegisterReply);
        } else if (words.length < 4) {
          notice(
            "ChanServ",
            "Syntax: \x02REGISTER \x1fchannel\x1f \x1fpassword\x1f \x1fdescription\x1f\x02",
          );
          notice("ChanServ", "\x02/msg ChanServ HELP REGISTER\x02 for more information.");
        } else if (reg) {
          notice("ChanServ", `Channel \x02${chan}\x02 is already registered!`);
        } else {
          const password = words[2] ?? "";
          registered.set(chan.toLowerCase(), {
            founder: nick,
            password,
            description: words.slice(3).join(" "),
          });
          notice("ChanServ", `Channel \x02${chan}\x02 registered under your nickname: ${nick}`);
          notice(
            "ChanServ",
            `Your channel password is \x02${password}\x02 -- remember it for later use.`,
          );
        }
      } else if (verb === "SET" && (words[2] ?? "").toUpperCase() === "TOPIC") {
        if (reg?.founder !== nick) notice("ChanServ", "Access denied.");
        else {
          // The topic is the rest of the line after "SET #chan TOPIC ".
          const topic = text.split(" ").slice(3).join(" ");
          stored.set(chan, topic);
          send(`:ChanServ!ChanServ@services.fake.lab TOPIC ${chan} :${topic}`);
        }
      } else if (verb === "SET" && (words[2] ?? "").toUpperCase() === "KEEPTOPIC") {
        notice("ChanServ", `Topic retention option for channel \x02${chan}\x02 is now \x02ON\x02.`);
      } else {
        notice("ChanServ", `Unknown command \x02${verb}\x02.  "/msg ChanServ HELP" for help.`);
      }
    };
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      let i = buf.indexOf("\n");
      while (i >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, "");
        received.push(line);
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
        const [cmd = "", ...rest] = line.split(" ");
        const trailing = line.includes(" :") ? line.slice(line.indexOf(" :") + 2) : "";
        switch (cmd.toUpperCase()) {
          case "CAP":
            if (rest[0] === "LS") send(":irc.fake.lab CAP * LS :");
            break;
          case "NICK":
            nick = rest[0] ?? "x";
            break;
          case "USER":
            send(`:irc.fake.lab 001 ${nick} :Welcome to the liar network`);
            send(`:irc.fake.lab 005 ${nick} TOPICLEN=390 NICKLEN=30 :are supported by this server`);
            send(`:irc.fake.lab 422 ${nick} :MOTD File is missing`);
            break;
          case "PING":
            send(`:irc.fake.lab PONG irc.fake.lab :${rest.join(" ").replace(/^:/, "")}`);
            break;
          case "JOIN": {
            const chan = rest[0] ?? "";
            if (opts.vanishOnJoin) {
              sock.destroy();
              return;
            }
            // Like real servers: a JOIN to a channel one is already in gets no reply at all.
            if (joined.has(chan)) break;
            joined.add(chan);
            send(`:${nick}!u@127.0.0.1 JOIN ${chan}`);
            const t = planted.get(chan);
            if (t && opts.restoreMs === undefined) send(`:irc.fake.lab 332 ${nick} ${chan} :${t}`);
            send(`:irc.fake.lab 353 ${nick} = ${chan} :@${nick}`);
            send(`:irc.fake.lab 366 ${nick} ${chan} :End of /NAMES list.`);
            if (t && opts.restoreMs !== undefined) {
              setTimeout(() => {
                if (!sock.destroyed)
                  send(`:ChanServ!ChanServ@services.fake.lab TOPIC ${chan} :${t}`);
              }, opts.restoreMs);
            }
            break;
          }
          case "PART":
            joined.delete(rest[0] ?? "");
            break;
          case "TOPIC": {
            const chan = rest[0] ?? "";
            send(`:irc.fake.lab 331 ${nick} ${chan} :No topic is set.`);
            break;
          }
          case "PRIVMSG": {
            const target = (rest[0] ?? "").toLowerCase();
            const words = trailing.split(" ");
            const verb = (words[0] ?? "").toUpperCase();
            if (target === "nickserv") {
              if (verb === "REGISTER") notice("NickServ", `Nickname ${nick} registered.`);
              else if (verb === "IDENTIFY")
                notice("NickServ", "Password accepted - you are now recognized.");
            } else if (target === "chanserv" && opts.legacy) {
              legacyChanServ(verb, words, trailing);
            } else if (target === "chanserv") {
              const chan = words[1] ?? "";
              if (verb === "INFO") notice("ChanServ", `Channel ${chan} isn't registered.`);
              else if (verb === "REGISTER" && opts.refuseRegister)
                notice("ChanServ", "Access denied.");
              else if (verb === "REGISTER")
                notice("ChanServ", `Channel ${chan} registered under your account: ${nick}`);
              else if (verb === "TOPIC" && words[2] === "LOCK")
                notice("ChanServ", `Topic lock option for ${chan} is now on.`);
              else if (verb === "TOPIC") {
                const topic = words.slice(2).join(" ");
                stored.set(chan, topic);
                send(`:ChanServ!ChanServ@services.fake.lab TOPIC ${chan} :${topic}`);
              } else notice("ChanServ", "Done.");
            }
            break;
          }
          case "QUIT":
            send("ERROR :Closing link");
            sock.end();
            break;
        }
      }
    });
  };
  const server: Server = opts.tls ? createTlsServer(opts.tls, onClient) : createServer(onClient);
  server.on("connection", (raw: Socket) => {
    connections++;
    sockets.add(raw);
    raw.on("close", () => sockets.delete(raw));
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    port,
    stored,
    registered,
    received,
    get connections() {
      return connections;
    },
    plant: (chan, topic) => planted.set(chan, topic),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A loopback port with nothing listening (a network that is down). */
export async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const addr = s.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
