"""A real HTTP/1.1 server on 127.0.0.1 for the webhook tests.

    srv = WebhookServer()                  # http, on a free port
    srv.handler = lambda req: Reply(200, ctype="application/xmpp+xml", body="<message/>")
    ... the bridge POSTs to srv.url("/hook") ...
    req = srv.wait_for(lambda r: r.stanza_id == "x1", 10)
    srv.close()

    ca = TestCA()                          # openssl(1) in a temporary directory
    cert, key = ca.server_cert("localhost")             # SAN DNS:localhost
    tls = WebhookServer(tls=(cert, key))   # https; its URLs name localhost

Every request is recorded (method, target, path, query, headers, body, arrival
time, when it was answered) and answered by handler(req), a function that
returns a Reply (status, reason, headers, body, delay before answering) or
None for the default, 204.  One thread per connection (socketserver's
ThreadingMixIn), so deliveries run concurrently; `inflight` counts the
requests that have arrived and are not yet being answered, and `max_inflight`
keeps its highest value.  A request is counted from the moment its request
line and headers are read until just before its answer is written: the
client cannot have seen the answer (and the bridge cannot have started a
replacement delivery) before the count drops.

Requests whose body contains SENTINEL_NS are always answered 204 at once,
whatever the handler: the tests use such iqs to know that the bridge has
handled everything sent before.
"""

import email.utils
import http
import http.server
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

SENTINEL_NS = "urn:xmpp-rest:test:sentinel"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _local(tag):
    return tag.rsplit("}", 1)[-1]


class Reply:
    """What the server answers.  body: bytes or str; headers: a dict or a
    list of (name, value); ctype: a Content-Type header (shortcut); delay:
    seconds to wait before answering; reason: the status line's phrase
    (default: the standard one, or "Status N"); drop: close the connection
    after the answer without having said so (no Connection: close), as a
    server does when its idle timeout strikes between two requests."""

    def __init__(self, status=204, body=b"", ctype=None, headers=None, reason=None, delay=0.0,
                 drop=False):
        self.status = status
        self.drop = drop
        self.body = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        self.headers = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if ctype:
            self.headers.append(("Content-Type", ctype))
        if reason is None:
            try:
                reason = http.HTTPStatus(status).phrase
            except ValueError:
                reason = "Status %d" % status
        self.reason = reason
        self.delay = delay

    @classmethod
    def xmpp(cls, stanza, status=200, **kw):
        return cls(status, stanza, ctype="application/xmpp+xml", **kw)

    def __repr__(self):
        return "<Reply %d %s %r>" % (self.status, self.reason, self.body[:80])


class Request:
    """One recorded request."""

    def __init__(self, seq, conn, method, target, version, headers, body, arrived):
        self.seq = seq
        self.conn = conn              # the connection's number (one per TCP connection)
        self.method = method
        self.target = target          # as on the request line (not decoded)
        self.path, _, self.query = target.partition("?")
        self.version = version
        self.header_list = headers    # [(name, value)] in order
        self.body = body
        self.time = arrived           # time.monotonic() when the head was read
        self.answered = None          # time.monotonic() when the answer was written
        self.reply = None             # the Reply sent
        self.answer_error = None      # writing the answer failed (client gone)
        self._stanza = False

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.header_list:
            if k.lower() == name:
                return v
        return default

    def headers_named(self, name):
        name = name.lower()
        return [v for k, v in self.header_list if k.lower() == name]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def stanza(self):
        """The body parsed as XML (an Element), or None."""
        if self._stanza is False:
            try:
                self._stanza = ET.fromstring(self.body)
            except ET.ParseError:
                self._stanza = None
        return self._stanza

    @property
    def kind(self):
        x = self.stanza()
        return _local(x.tag) if x is not None else None

    @property
    def stanza_id(self):
        x = self.stanza()
        return x.get("id") if x is not None else None

    @property
    def delivery_id(self):
        return self.header("X-XMPP-Rest-Delivery")

    @property
    def is_sentinel(self):
        return SENTINEL_NS.encode() in self.body

    def __repr__(self):
        return "<Request #%d %s %s %s>" % (self.seq, self.method, self.target, self.body[:200])


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "xmpp-rest-test-webhook/1"

    def log_message(self, fmt, *args):       # quiet
        pass

    def handle(self):
        srv = self.server.owner
        with srv._lock:
            srv._conns += 1
            self._conn_no = srv._conns
        self._served = 0
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError) as e:
            srv._note_error("connection %d: %s" % (self._conn_no, e))
            if srv.tls and not self._served:
                srv._tls_failure("connection %d: %s" % (self._conn_no, e))
            return
        if srv.tls and not self._served:
            # e.g. the client rejected our certificate after the handshake
            srv._tls_failure("connection %d closed without a request" % self._conn_no)

    def handle_one_request(self):
        # as in BaseHTTPRequestHandler, but for any method
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        self._served += 1
        self._serve()
        self.wfile.flush()

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = b""
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    break
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                out += self.rfile.read(size)
                self.rfile.readline(16)
            return out
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        return self.rfile.read(int(n))

    def _serve(self):
        srv = self.server.owner
        arrived = time.monotonic()
        headers = list(self.headers.items())
        body = self._read_body()
        req = srv._add(self._conn_no, self.command, self.path, self.request_version, headers,
                       body, arrived)
        try:
            if req.is_sentinel:
                reply = Reply(204)
            else:
                try:
                    reply = srv.handler(req) if srv.handler else None
                except Exception as e:          # a broken test handler: 500, noted
                    srv._note_error("handler raised %r" % (e,))
                    reply = Reply(500, "test handler raised %r" % (e,), ctype="text/plain")
                if reply is None:
                    reply = Reply(204)
                if reply.delay:
                    time.sleep(reply.delay)
        finally:
            srv._leave()
        req.reply = reply
        try:
            self.send_response_only(reply.status, reply.reason)
            self.send_header("Date", email.utils.formatdate(usegmt=True))
            names = {k.lower() for k, _ in reply.headers}
            for k, v in reply.headers:
                self.send_header(k, v)
            no_body = reply.status in (204, 304) or 100 <= reply.status < 200
            if not no_body and "content-length" not in names and "transfer-encoding" not in names:
                self.send_header("Content-Length", str(len(reply.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if not no_body and reply.body:
                self.wfile.write(reply.body)
            self.wfile.flush()
            if reply.drop:
                self.close_connection = True
        except OSError as e:
            req.answer_error = str(e)
            self.close_connection = True
        req.answered = time.monotonic()
        srv._answered()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, owner, ssl_ctx, port=0):
        self.owner = owner
        self.ssl_ctx = ssl_ctx
        super().__init__(("127.0.0.1", port), _Handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_ctx is not None:
            # the handshake happens in the connection's own thread
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        if self.ssl_ctx is not None:
            request.settimeout(30)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError) as e:
                self.owner._tls_failure(str(e))
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


class WebhookServer:
    def __init__(self, tls=None, host_name=None, port=0):
        """tls: None for http, or (cert_file, key_file) for https.
        host_name: the host URLs name (default 127.0.0.1 for http,
        localhost for https).  port: 0 for a free one, or a given one
        (a webhook that comes back up where it was)."""
        ctx = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
        self.tls = bool(tls)
        self.host_name = host_name or ("localhost" if tls else "127.0.0.1")
        self.handler = None
        self._lock = threading.Condition()
        self._requests = []
        self._seq = 0
        self._conns = 0
        self.inflight = 0
        self.max_inflight = 0
        self.errors = []
        self.tls_failures = []
        self._srv = _Server(self, ctx, port)
        self.port = self._srv.server_address[1]
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="webhook:%d" % self.port, daemon=True)
        self._thread.start()

    def url(self, path="/"):
        return "%s://%s:%d%s" % ("https" if self.tls else "http", self.host_name, self.port, path)

    def close(self):
        self._srv.shutdown()
        self._srv.server_close()
        self._thread.join(5)

    # ---- bookkeeping (server threads) ------------------------------------------

    def _add(self, conn, method, target, version, headers, body, arrived):
        with self._lock:
            self._seq += 1
            req = Request(self._seq, conn, method, target, version, headers, body, arrived)
            self._requests.append(req)
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            self._lock.notify_all()
            return req

    def _leave(self):
        with self._lock:
            self.inflight -= 1

    def _answered(self):
        with self._lock:
            self._lock.notify_all()

    def _note_error(self, s):
        with self._lock:
            self.errors.append(s)

    def _tls_failure(self, s):
        with self._lock:
            self.tls_failures.append(s)
            self._lock.notify_all()

    # ---- for the tests ------------------------------------------------------------

    def requests(self, include_sentinels=False):
        with self._lock:
            return [r for r in self._requests if include_sentinels or not r.is_sentinel]

    def clear(self):
        """Forgets the recorded requests and resets max_inflight."""
        with self._lock:
            self._requests.clear()
            self.max_inflight = self.inflight
            self.errors.clear()
            self.tls_failures.clear()

    def find(self, pred):
        with self._lock:
            for r in self._requests:
                if pred(r):
                    return r
        return None

    def wait_for(self, pred, timeout=10.0, answered=False):
        """The first recorded request with pred(req) true (and, with
        answered, whose answer has been written), waiting up to timeout;
        TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for r in self._requests:
                    if pred(r) and (not answered or r.answered is not None):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    last = [r for r in self._requests if not r.is_sentinel][-3:]
                    raise TimeoutError("webhook on port %d: no matching request within %gs "
                                       "(%d recorded; last: %s)" % (
                                           self.port, timeout, len(self._requests),
                                           " | ".join("%s %s" % (r.target, r.text[:150]) for r in last)
                                           or "none"))
                self._lock.wait(left)

    def wait_count(self, pred, n, timeout=30.0):
        """Waits until at least n recorded requests match pred; returns them
        (fewer if the timeout passed)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [r for r in self._requests if pred(r)]
                left = deadline - time.monotonic()
                if len(found) >= n or left <= 0:
                    return found
                self._lock.wait(min(left, 0.5))


# ---- a test CA, with openssl(1) -------------------------------------------------------

class TestCA:
    """A throw-away CA and server certificates signed by it, made with the
    openssl command line in a temporary directory (removed by cleanup())."""

    __test__ = False

    def __init__(self, parent=None):
        if shutil.which("openssl") is None:
            raise RuntimeError("the openssl command is missing (Debian package openssl): "
                               "it is needed to make the test CA for the https webhook tests")
        self.dir = tempfile.mkdtemp(prefix="xr-test-ca-", dir=parent)
        # The bridge, which may run as its own account, reads the CA
        # certificate (public); the keys stay 0600.
        os.chmod(self.dir, 0o755)
        self.cert = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca.key")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                      "-subj", "/CN=xmpp-rest test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._n = 0

    def _openssl(self, *args):
        p = subprocess.run(["openssl"] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("openssl %s failed (%d): %s" % (
                args[0], p.returncode, p.stdout.decode("utf-8", "replace")[-500:]))

    def server_cert(self, *dns_names):
        """(cert_file, key_file) for a server certificate signed by this CA
        whose subjectAltName lists exactly dns_names (CN = the first)."""
        self._n += 1
        base = os.path.join(self.dir, "server%d" % self._n)
        ext = base + ".ext"
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\n" % ",".join("DNS:" + n for n in dns_names))
            f.write("basicConstraints=critical,CA:FALSE\n")
            f.write("keyUsage=critical,digitalSignature,keyEncipherment\n")
            f.write("extendedKeyUsage=serverAuth\n")
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", base + ".key", "-out", base + ".csr",
                      "-subj", "/CN=%s" % dns_names[0])
        self._openssl("x509", "-req", "-in", base + ".csr", "-CA", self.cert, "-CAkey", self.key,
                      "-set_serial", str(1000 + self._n), "-days", "2", "-sha256",
                      "-extfile", ext, "-out", base + ".pem")
        return base + ".pem", base + ".key"

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def closed_port():
    """(port, socket): a port of 127.0.0.1 bound by us but not listening,
    so that connecting to it is refused for as long as the socket is open
    (close it afterwards)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1], s
