#!/usr/bin/python3
"""The XMPP server's own ceiling: a bare XEP-0114 component that writes
chat messages to an online user as fast as the server takes them, with
nothing of ours in the path.  bench/run.py's "ceiling: Prosody routing"
row; the bridge is stopped meanwhile, since the component name is its.
"""

import hashlib
import re
import socket
import time


def handshake(host, port, domain, secret):
    """A connected, authenticated component socket."""
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(("<stream:stream xmlns='jabber:component:accept' "
               "xmlns:stream='http://etherx.jabber.org/streams' to='%s'>"
               % domain).encode())
    buf = b""
    while not re.search(rb"<stream:stream[^>]*>", buf):
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("flood: the server closed: %r" % buf)
        buf += chunk
    sid = re.search(rb"\sid=['\"]([^'\"]+)['\"]", buf).group(1)
    digest = hashlib.sha1(sid + secret.encode()).hexdigest()
    s.sendall(("<handshake>%s</handshake>" % digest).encode())
    while b"<handshake" not in buf.split(b">", 1)[-1]:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("flood: handshake refused: %r" % buf)
        buf += chunk
    return s


def flood(host, port, domain, secret, to, count, received, batch=64, limit=120.0):
    """Writes count messages from domain to `to`, batch per write, and
    waits until received() (the recipient's count) has grown by count.
    Returns (messages/s from first write to last arrival, delivered)."""
    s = handshake(host, port, domain, secret)
    s.settimeout(None)
    body = "x" * 74
    start = received()
    t0 = time.monotonic()
    try:
        for first in range(0, count, batch):
            s.sendall("".join(
                "<message from='flood@%s' to='%s' type='chat' id='f%d'>"
                "<body>%s</body></message>" % (domain, to, i, body)
                for i in range(first, min(first + batch, count))).encode())
        deadline = time.monotonic() + limit
        last, since = -1, time.monotonic()
        while received() - start < count and time.monotonic() < deadline:
            n = received()
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since > 5:
                break   # nothing arrives any more: report what did
            time.sleep(0.005)
        took = time.monotonic() - t0
    finally:
        try:
            s.sendall(b"</stream:stream>")
        except OSError:
            pass
        s.close()
    got = received() - start
    return got / took, got
