#!/usr/bin/python3
"""stdin/stdout <-> a TCP server: what qemu's guestfwd=...-cmd: runs for each connection a VM
opens to a forwarded address (tests/lab/vm, VM_GUESTFWD).

    relay.py HOST PORT
"""

import os
import socket
import sys
import threading


def main():
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))

    def upstream():
        try:
            while True:
                data = os.read(0, 65536)
                if not data:
                    break
                sock.sendall(data)
        except OSError:
            pass
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    threading.Thread(target=upstream, daemon=True).start()
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            os.write(1, data)
    except OSError:
        pass


if __name__ == "__main__":
    main()
