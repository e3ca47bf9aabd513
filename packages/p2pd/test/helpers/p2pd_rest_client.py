#!/usr/bin/python3
"""Calls a REST server the way P2PD's own client code does: each request is built by P2PD's
`http_req_buf` (HTTP/1.0, Origin: null, Content-Length always) and each answer parsed by P2PD's
`ParseHTTPResponse`. Only the socket is ours (P2PD's WebCurl needs a NAT-tested Interface).

usage: p2pd_rest_client.py PORT  (stdin: JSON [[method, path, body_hex], ...]; stdout: JSON answers)
Needs PYTHONPATH=<p2pd-python>/src and Debian's python3-ecdsa and friends (see .ci/apt-packages).
"""
import json
import socket
import sys

from p2pd import IP4
from p2pd.protocol.http.http_client_lib import ParseHTTPResponse, http_req_buf


def call(port, method, path, body):
    buf = http_req_buf(IP4, "127.0.0.1", path.encode(), method.encode(), body)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(buf)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    res = ParseHTTPResponse(out)
    payload = res.out()
    return {
        "status": res.status,
        "headers": {k.lower(): v for k, v in res.hdrs.items()},
        "body_hex": payload.hex(),
    }


def main():
    port = int(sys.argv[1])
    reqs = json.load(sys.stdin)
    print(json.dumps([call(port, m, p, bytes.fromhex(b)) for m, p, b in reqs]))


if __name__ == "__main__":
    main()
