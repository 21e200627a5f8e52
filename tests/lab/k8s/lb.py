#!/usr/bin/python3
"""The lab's API load balancer: what a Hetzner load balancer does in front of the control-plane
nodes, for TCP. Each connection goes to the next backend that accepts one (round robin,
skipping backends that are down); bytes are relayed both ways unchanged, so TLS ends at the
kube-apiserver, as with a TCP load balancer.

    lb.py LISTEN_PORT HOST:PORT [HOST:PORT...]
    lb.py LISTEN_PORT @FILE      the backends are FILE's lines, read again for each connection
                                 (the Hetzner fake's load balancers change targets this way)
"""

import itertools
import socket
import sys
import threading


def relay(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def connect(backends, turn):
    if not backends:
        return None
    start = next(turn)
    for i in range(len(backends)):
        host, port = backends[(start + i) % len(backends)]
        try:
            return socket.create_connection((host, port), timeout=2)
        except OSError:
            continue
    return None


def parse(specs):
    return [(b.rsplit(":", 1)[0], int(b.rsplit(":", 1)[1])) for b in specs if b.strip()]


def reader(args):
    """A function giving the current backends."""
    if len(args) == 1 and args[0].startswith("@"):
        path = args[0][1:]

        def from_file():
            try:
                with open(path) as f:
                    return parse(f.read().split())
            except OSError:
                return []
        return from_file
    fixed = parse(args)
    return lambda: fixed


def main():
    port = int(sys.argv[1])
    backends = reader(sys.argv[2:])
    turn = itertools.count()
    lock = threading.Lock()
    srv = socket.create_server(("0.0.0.0", port), reuse_port=True)
    while True:
        client, _ = srv.accept()
        with lock:
            upstream = connect(backends(), turn)
        if upstream is None:
            client.close()
            continue
        upstream.settimeout(None)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=relay, args=(a, b), daemon=True).start()


if __name__ == "__main__":
    main()
