#!/usr/bin/python3
"""Runs P2PD's own IRCDNS (irc_dns.py, the reference) against the IRC lab.

The reference's IRCDNS, IRCSession and IRCChan run unchanged (their `clsSess` hook is P2PD's own
test seam); only IRCSession.start's transport is replaced: the reference dials port 6697 over TLS
through a NAT-tested P2PD Interface, this dials the lab's plain loopback port. The login sequence
after connecting is the reference's (USER, NICK, 376, NickServ REGISTER, login reply).
Sessions get no database: with one, the reference's register_chan always raises (spec 12.1.1).

stdin: JSON {op: "register"|"lookup", servers: [{domain, host, port}], seed_hex, name, tld, pw, value}
stdout: JSON {records: [{domain, chan, status}]} or {msg, time, ids} or {error}
"""
import asyncio
import json
import sys

from p2pd.irc_dns import IRCDNS, IRCMsg, IRCSession


class Con:
    """What the reference's sessions call `con`: send() and close()."""

    def __init__(self, writer):
        self.writer = writer

    async def send(self, data, dest=None):
        self.writer.write(data)
        await self.writer.drain()
        return True

    async def close(self):
        self.writer.close()


class LabSession(IRCSession):
    def __init__(self, server_info, seed, db=None, offset=None):
        super().__init__(server_info, seed, db=None, offset=offset)

    async def pump(self, reader):
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await self.msg_cb(data, None, self.con)

    async def start(self, i, timeout=60):
        async def do_start():
            info = self.server_info
            reader, writer = await asyncio.open_connection(info["host"], info["port"])
            self.con = Con(writer)
            self.pump_task = asyncio.ensure_future(self.pump(reader))
            # The reference's IRCSession.start from here on.
            await self.con.send(IRCMsg(cmd="USER", param=f"{self.username} * {self.irc_server}",
                                       suffix="*").pack())
            await self.con.send(IRCMsg(cmd="NICK", param=self.nick).pack())
            await asyncio.wait_for(self.get_motd, 30)
            await self.register_user()
            await asyncio.wait_for(self.login_status, 15)
            self.started.set_result(True)
            return self

        return await asyncio.wait_for(do_start(), timeout=timeout)


async def main():
    req = json.load(sys.stdin)
    servers = [dict(s, nick_serv=["password", "email"], successor="p2pd_matthew")
               for s in req["servers"]]
    dns = IRCDNS(None, bytes.fromhex(req["seed_hex"]), servers, clsSess=LabSession,
                 do_shuffle=False, freshness_check=False)
    await dns.start()
    name, tld, pw = req["name"], req["tld"], req.get("pw", "")
    try:
        if req["op"] == "register":
            records, _ = await dns.name_register(name, tld, pw)
            await dns.store_value(req["value"], name, tld, pw)
            await asyncio.sleep(1)  # the TOPIC echoes; the reference does not wait for all
            out = {"records": [{"domain": r["domain"], "chan": r["chan_name"], "status": r["status"]}
                               for r in records]}
        else:
            r = await dns.name_lookup(name, tld, pw)
            out = {"msg": r["msg"], "time": r["time"], "ids": [i.hex() for i in r["ids"]]} if r else {}
    except Exception as e:  # reported to the test, which fails with it
        out = {"error": f"{type(e).__name__}: {e}"}
    finally:
        await dns.close()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
