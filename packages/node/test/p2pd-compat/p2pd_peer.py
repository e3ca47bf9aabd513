"""
Runs one real Python P2PD node (the reference in ../shared/reference/p2pd-python) for the interop
tests, offline: every server list is emptied, no MQTT, no UPnP, no NTP, and the test runs it in a
network namespace with no route out. Prints JSON lines on stdout:
  {"addr": "..."}                       once the node listens
  {"recv": "..."}                       each message a peer sent us (serve)
  {"reply": "...", "pipe": true}        the dial's test reply (dial)
Usage: p2pd_peer.py serve NIC_IP EXT_IP PORT
       p2pd_peer.py dial  NIC_IP EXT_IP PORT ADDR
"""
import asyncio
import ipaddress
import json
import os
import sys

# Documentation ranges count as public here (P2PD asserts a public external IP).
ipaddress._IPv4Constants._private_networks = [
    n for n in ipaddress._IPv4Constants._private_networks
    if str(n) not in ("198.51.100.0/24", "203.0.113.0/24")
]

from decimal import Decimal as Dec  # noqa: E402

import p2pd  # noqa: E402
from p2pd import settings  # noqa: E402
from p2pd.settings import IP4, IP6  # noqa: E402


def empty(x):
    """Empties every list inside x (the server tables nest dicts of lists), in place."""
    if isinstance(x, list):
        x.clear()
    elif isinstance(x, dict):
        for v in x.values():
            empty(v)


for name in ("STUN_CHANGE_SERVERS", "STUN_MAP_SERVERS", "MQTT_SERVERS", "TURN_SERVERS",
             "NTP_SERVERS", "PNP_SERVERS"):
    empty(getattr(settings, name, None))
# P2PD_MQTT=IP:PORT: one broker for P2PD's signaling (a broker the test runs in the namespace).
MQTT = os.environ.get("P2PD_MQTT")
if MQTT:
    settings.MQTT_SERVERS.append(
        {"host": None, "port": int(MQTT.rsplit(":", 1)[1]), IP4: MQTT.rsplit(":", 1)[0], IP6: None}
    )

from p2pd import *  # noqa: E402,F403


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main():
    mode, nic_ip, ext_ip, port = sys.argv[1:5]
    # Not init_p2pd(): it sends a datagram to 8.8.8.8 (and needs a default route to do so).
    import netifaces
    Interface.get_netifaces = lambda: netifaces
    iface = Interface(sys.argv[6] if len(sys.argv) > 6 else "veth0")
    iface.netifaces = netifaces
    iface.netiface_index = 0
    iface.nic_no = 0
    iface.id = 0
    iface.mac = "02:00:00:00:00:01"
    iface.is_default = lambda af, gws=None: af == IP4
    route = Route(IP4, [IPRange(nic_ip, cidr=32)], [IPRange(ext_ip, cidr=32)], interface=iface)
    iface.rp = {IP4: RoutePool([route]), IP6: RoutePool([])}
    iface.nat = nat_info(RESTRICT_PORT_NAT, delta_info(PRESERV_DELTA, 0))
    iface.stack = IP4
    iface.resolved = True

    conf = dict_child({"sig_pipe_no": 3 if MQTT else 0, "enable_upnp": False}, NODE_CONF)
    node = P2PNode(ifs=[iface], port=int(port), conf=conf)
    node.stun_clients = {IP4: {0: []}, IP6: {}}

    def on_msg(msg, client_tup, pipe):
        if msg:
            out({"recv": msg.decode("latin1")})

    node.add_msg_cb(on_msg)
    await node.start(sys_clock=SysClock(iface, clock_skew=Dec("0.01")))
    out({"addr": node.address().decode()})

    if mode == "dial":
        strategy = {"direct": P2P_DIRECT, "reverse": P2P_REVERSE, "punch": P2P_PUNCH}[
            os.environ.get("P2PD_STRATEGY", "direct")
        ]
        out({"signal_pipes": list(node.signal_pipes)})
        pipe = await node.connect(sys.argv[5].encode(), strategies=[strategy])
        if pipe is None:
            out({"pipe": False})
        else:
            await pipe.send(b"long_p2pd_test_string_abcd123")
            reply = await pipe.recv(timeout=5)
            out({"pipe": True, "reply": (reply or b"").decode("latin1")})
            await pipe.send(b"hello from python")
    # Serve (and keep a dialed pipe open) until stdin closes.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await node.close()


asyncio.run(main())
