#!/bin/bash
# A NATed LAN behind a miniupnpd router, and a host on the router's WAN side.
#   pm-<id>-lan  lan0 192.168.77.2/24, 2001:db8:77::2/64   default via the router
#   pm-<id>-rtr  lan0 192.168.77.1/24, 2001:db8:77::1/64   wan0 11.11.11.1/24, 2001:db8:11::1/64
#                nftables masquerade + forward filter; miniupnpd (UPnP IGD, NAT-PMP, PCP)
#   pm-<id>-wan  wan0 11.11.11.2/24, 2001:db8:11::2/64   no default route: nothing leaves the machine
# miniupnpd refuses reserved WAN addresses (RFC 1918, CGNAT, documentation ranges), hence 11.11.11.0/24;
# these namespaces have no link to any real network.
# With CGN=1 a carrier NAT sits between the router and the WAN host (double NAT):
#   pm-<id>-cgn  in0 11.11.11.254/24 (router's default route)   out0 12.12.12.1/24, masquerade
#   pm-<id>-wan  then sits on 12.12.12.2/24 behind it.
# With IGDV1=1 miniupnpd describes itself as IGD v1 (WANIPConnection:1) instead of v2.
# `restart` emulates a router reboot: miniupnpd stops, its rules go, it starts again (its NAT-PMP/PCP
# epoch restarts from 0: system_uptime=no).
# Usage: [CGN=1] [IGDV1=1] lab.sh up ID STATE_DIR [WAN_IP] | lab.sh restart|down ID STATE_DIR
set -euo pipefail
cmd=$1 id=$2 state=$3
lan=pm-$id-lan rtr=pm-$id-rtr wan=pm-$id-wan cgn=pm-$id-cgn
wan_ip=${4:-11.11.11.1}

stop_daemon() {
  if [ -f "$state/miniupnpd.pid" ]; then
    pid=$(cat "$state/miniupnpd.pid")
    kill "$pid" 2>/dev/null || true
    # miniupnpd ignores SIGTERM while it walks the port space for a refused NAT-PMP/PCP request.
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$state/miniupnpd.pid"
  fi
}

start_daemon() {
  ip netns exec "$rtr" miniupnpd -f "$state/miniupnpd.conf" -d -P "$state/miniupnpd.own.pid" >>"$state/miniupnpd.log" 2>&1 &
  echo $! >"$state/miniupnpd.pid"
  # Ready when the HTTP and NAT-PMP sockets are open.
  for _ in $(seq 1 100); do
    if ip netns exec "$rtr" ss -ltn 2>/dev/null | grep -q ':5000 ' && ip netns exec "$rtr" ss -lun 2>/dev/null | grep -q ':5351 '; then
      echo "up"; return 0
    fi
    if ! kill -0 "$(cat "$state/miniupnpd.pid")" 2>/dev/null; then cat "$state/miniupnpd.log" >&2; return 1; fi
    sleep 0.05
  done
  cat "$state/miniupnpd.log" >&2
  return 1
}

down() {
  stop_daemon
  for ns in $lan $rtr $wan $cgn; do ip netns del "$ns" 2>/dev/null || true; done
}

if [ "$cmd" = down ]; then down; exit 0; fi
if [ "$cmd" = restart ]; then
  stop_daemon
  for c in miniupnpd prerouting_miniupnpd postrouting_miniupnpd; do
    ip netns exec "$rtr" nft flush chain inet miniupnpd "$c"
  done
  ip netns exec "$rtr" conntrack -F >/dev/null 2>&1 || true
  start_daemon
  exit $?
fi
[ "$cmd" = up ] || { echo "usage: $0 up|restart|down ID STATE_DIR" >&2; exit 2; }
mkdir -p "$state"
down
for ns in $lan $rtr $wan; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$rtr" link add lan0 type veth peer name lan0 netns "$lan"
prefix=${wan_ip%.*}
ip -n "$lan" addr add 192.168.77.2/24 dev lan0
ip -n "$rtr" addr add 192.168.77.1/24 dev lan0
if [ "${CGN:-0}" = 1 ]; then
  ip netns add "$cgn"; ip -n "$cgn" link set lo up
  ip -n "$rtr" link add wan0 type veth peer name in0 netns "$cgn"
  ip -n "$cgn" link add out0 type veth peer name wan0 netns "$wan"
  ip -n "$rtr" addr add "$wan_ip/24" dev wan0
  ip -n "$cgn" addr add "$prefix.254/24" dev in0
  ip -n "$cgn" addr add 12.12.12.1/24 dev out0
  ip -n "$wan" addr add 12.12.12.2/24 dev wan0
  ip -n "$cgn" link set in0 up; ip -n "$cgn" link set out0 up
  ip netns exec "$cgn" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$cgn" nft -f - <<NFT
table ip cgn {
  chain postrouting { type nat hook postrouting priority 100; policy accept; oifname "out0" masquerade; }
  chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; iifname "in0" accept; }
}
NFT
else
  ip -n "$rtr" link add wan0 type veth peer name wan0 netns "$wan"
  ip -n "$rtr" addr add "$wan_ip/24" dev wan0
  ip -n "$wan" addr add "$prefix.2/24" dev wan0
fi
for ns in $lan $rtr $wan; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; done
ip -n "$lan" addr add 2001:db8:77::2/64 dev lan0 nodad
ip -n "$rtr" addr add 2001:db8:77::1/64 dev lan0 nodad
if [ "${CGN:-0}" != 1 ]; then
  ip -n "$rtr" addr add 2001:db8:11::1/64 dev wan0 nodad
  ip -n "$wan" addr add 2001:db8:11::2/64 dev wan0 nodad
fi
for ns in $lan $rtr $wan; do ip -n "$ns" link set lan0 up 2>/dev/null || true; ip -n "$ns" link set wan0 up 2>/dev/null || true; done
ip -n "$lan" route add default via 192.168.77.1
ip -n "$lan" -6 route add default via 2001:db8:77::1
if [ "${CGN:-0}" != 1 ]; then ip -n "$wan" -6 route add 2001:db8:77::/64 via 2001:db8:11::1; fi
ip netns exec "$rtr" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
if [ "${CGN:-0}" = 1 ]; then ip -n "$rtr" route add default via "$prefix.254"; fi

# The structure miniupnpd fills (table inet miniupnpd), plus a home router's NAT and filter.
ip netns exec "$rtr" nft -f - <<NFT
table inet miniupnpd {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan0" accept
    ct status dnat accept
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "wan0" ip saddr 192.168.77.0/24 masquerade
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
NFT

cat > "$state/miniupnpd.conf" <<CONF
ext_ifname=wan0
ext_ip=$wan_ip
listening_ip=lan0
port=5000
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=no
min_lifetime=1
force_igd_desc_v1=$([ "${IGDV1:-0}" = 1 ] && echo yes || echo no)
uuid=$(cat /proc/sys/kernel/random/uuid)
upnp_table_name=miniupnpd
upnp_nat_table_name=miniupnpd
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 192.168.77.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
: >"$state/miniupnpd.log"
start_daemon
