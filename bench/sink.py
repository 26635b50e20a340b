#!/usr/bin/python3
"""A minimal online XMPP client for benchmarks: it logs in (SASL PLAIN on
loopback, no TLS, as the test Prosody allows), binds a resource, sends
presence, then only counts the <message stanzas it receives.

The test suite's client (tests/integration/xmpp_client.py, slixmpp) parses
every stanza in Python; at thousands of messages a second it takes a whole
core of this 2-core machine away from what is being measured.  This one
counts bytes on a socket, so the receiving user costs what a real client
on another machine would cost here: nothing but Prosody's own c2s writes.
"""

import base64
import re
import socket
import threading
import time

_MSG = b"<message"


class Sink:
    def __init__(self, jid, password, host, port, resource="bench"):
        self.local, self.domain = jid.split("@", 1)
        self.password = password
        self.addr = (host, int(port))
        self.resource = resource
        self.count = 0
        self.sock = None
        self._thread = None

    def _expect(self, pattern, buf=b"", limit=10.0):
        """Reads until pattern (bytes regex) matches; returns (match, rest)."""
        deadline = time.monotonic() + limit
        while True:
            m = re.search(pattern, buf, re.S)
            if m:
                return m, buf[m.end():]
            if time.monotonic() > deadline:
                raise TimeoutError("sink: no %r in %r" % (pattern, buf[-300:]))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("sink: server closed: %r" % buf[-300:])
            buf += chunk

    def _open(self, buf=b""):
        self.sock.sendall(("<?xml version='1.0'?><stream:stream to='%s' "
                           "xmlns='jabber:client' "
                           "xmlns:stream='http://etherx.jabber.org/streams' "
                           "version='1.0'>" % self.domain).encode())
        return self._expect(rb"</stream:features>", buf)[1]

    def start(self):
        self.sock = socket.create_connection(self.addr, timeout=10)
        rest = self._open()
        token = base64.b64encode(("\0%s\0%s" % (self.local, self.password)).encode())
        self.sock.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                          b"mechanism='PLAIN'>" + token + b"</auth>")
        m, rest = self._expect(rb"<success[^>]*/>|<success.*?</success>|<failure.*?</failure>",
                               rest)
        if m.group(0).startswith(b"<failure"):
            raise ConnectionError("sink: login refused: %r" % m.group(0))
        rest = self._open(rest)
        self.sock.sendall(("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:"
                           "xmpp-bind'><resource>%s</resource></bind></iq>"
                           % self.resource).encode())
        _, rest = self._expect(rb"<iq[^>]*id=['\"]bind['\"].*?</iq>", rest)
        self.sock.sendall(b"<presence/>")
        self.sock.settimeout(None)
        self.count = rest.count(_MSG)
        self._thread = threading.Thread(target=self._read, args=(rest[-(len(_MSG) - 1):],),
                                        daemon=True)
        self._thread.start()

    def _read(self, tail):
        # A tag may straddle two reads: count over the last few bytes of
        # the previous chunk too, without counting it twice.
        while True:
            try:
                chunk = self.sock.recv(262144)
            except OSError:
                return
            if not chunk:
                return
            self.count += (tail + chunk).count(_MSG)
            tail = chunk[-(len(_MSG) - 1):]

    def stop(self):
        if self.sock:
            try:
                self.sock.sendall(b"</stream:stream>")
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
