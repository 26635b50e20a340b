"""What every integration suite shares: the suites (test_*.py) hold checks
only and import the rest from here (and from xmpp_client, webhook_server
and tools/stack.py), never from each other.

- Failures: TestFailure, expect(), fail_with().
- The registry: one Suite per suite module, and one way to add a check to
  it, the decorator @suite.test(description).  The description is the
  check's name: CI, -k and the TAP lines know it by it.
- Running: Runner (TAP lines and counts), Suite.run(), guarded().
- HTTP: request(), post(), Resp, expect_status(), expect_names(), ...
- Ctx: what a check gets (the stack, alice and bob, the URL), with the
  bridge's log and status.
- Waiting: wait_until() and the Ctx's wait_log() and wait_status(), so that
  a check waits for a condition rather than for a fixed time.
- The bridge's socket (common/proto.h): frame(), read_frame(), ask(),
  submit_fields(), FrameStream and the field numbers.
- The responder as a CGI program: cgi().

Each check prints one line, TAP style:

    ok 12 - [lighttpd-fcgi] a message to alice answers 202 with X-Stanza-Id; ...
    not ok 13 - [auth] ...: detail

A check that throws counts as failed and the run goes on.
"""

import base64
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import time
import traceback
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

from xmpp_client import NS_STANZAS

CT = "application/xmpp+xml"
COMPONENT = "rest.localhost"
ALICE = "alice@localhost"
ALICE_FULL = "alice@localhost/test"
BOB_FULL = "bob@localhost/test"

# stanza error condition -> HTTP status, for the conditions whose mapping
# the contract (or RFC 6120 / XEP-0086) leaves no doubt about
ERROR_STATUS = [
    ("item-not-found", "cancel", 404),
    ("feature-not-implemented", "cancel", 501),
    ("forbidden", "auth", 403),
    ("bad-request", "modify", 400),
    ("service-unavailable", "cancel", 503),
    ("conflict", "cancel", 409),
    ("not-acceptable", "modify", 406),
    ("internal-server-error", "wait", 500),
    # the rest of the table in docs/API.md
    ("jid-malformed", "modify", 400),
    ("not-authorized", "auth", 403),
    ("not-allowed", "cancel", 405),
    ("gone", "cancel", 410),
    ("remote-server-not-found", "cancel", 502),
    ("undefined-condition", "cancel", 502),
    ("resource-constraint", "wait", 503),
    ("remote-server-timeout", "wait", 504),
]


# ---- failures ------------------------------------------------------------------------

class TestFailure(AssertionError):
    pass


def expect(cond, msg):
    if not cond:
        raise TestFailure(msg)


def fail_with(e):
    """A check that fails with e: for errors met outside any check (a
    server that did not start, say), so that they count as failures."""
    raise e


def wait_until(fn, timeout, what, interval=0.2):
    """Calls fn() until it returns a true value, which is returned; after
    timeout seconds, a failure saying what was awaited (what may be a
    function, called then) and the last exception fn() raised."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:
            last = e
        if time.monotonic() > deadline:
            if callable(what):
                what = what()
            raise TestFailure("%s: not within %gs%s" % (what, timeout, " (%s)" % last if last else ""))
        time.sleep(interval)


# ---- small things ---------------------------------------------------------------------

def tok():
    return uuid.uuid4().hex[:12]


def word():
    return uuid.uuid4().hex[:10]


def local(tag):
    return tag.rsplit("}", 1)[-1]


def ns_of(tag):
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def one_line(s, n=200):
    s = s.strip().replace("\r", "\\r").replace("\n", "\\n")
    return s if len(s) <= n else s[:n] + "..."


def msg(w, frm=None, to=ALICE_FULL):
    """A message to alice's full JID whose body is w."""
    f = " from='%s'" % frm if frm else ""
    return "<message to='%s'%s><body>%s</body></message>" % (to, f, w)


def bearer(token):
    return {"Authorization": "Bearer " + token}


def basic(user, password):
    raw = ("%s:%s" % (user, password)).encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def stanza_error(el):
    """(type, condition, text) of the <error/> child of a stanza element,
    or None."""
    err = next((ch for ch in el if local(ch.tag) == "error"), None)
    if err is None:
        return None
    cond = text = None
    for ch in err:
        if ns_of(ch.tag) != NS_STANZAS:
            continue
        if local(ch.tag) == "text":
            text = ch.text or ""
        elif cond is None:
            cond = local(ch.tag)
    return err.get("type"), cond, text


# ---- HTTP ---------------------------------------------------------------------------------

class Resp:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def header(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def ctype(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def xml(self):
        try:
            return ET.fromstring(self.body)
        except ET.ParseError as e:
            raise TestFailure("body is not XML (%s): %s" % (e, one_line(self.text)))

    def __str__(self):
        return "%d %s [%s] %s" % (self.status, self.reason, self.headers.get("Content-Type"),
                                  one_line(self.text))


# Sent with every request unless a test names the header itself (a value
# of None leaves it out); run.py fills in the stack's token.
DEFAULT_HEADERS = {}


def request(method, url, body=None, headers=None, chunked=False, timeout=60):
    merged = dict(DEFAULT_HEADERS)
    merged.update(headers or {})
    headers = {k: v for k, v in merged.items() if v is not None}
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path + ("?" + u.query if u.query else "")
        if isinstance(body, str):
            body = body.encode("utf-8")
        if chunked:
            data = body or b""
            parts = [data[i:i + 16384] for i in range(0, len(data), 16384)]
            conn.request(method, path, body=iter(parts), headers=headers or {},
                         encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.reason, r.headers, data)
    finally:
        conn.close()


def post(url, body, ctype=CT, headers=None, **kw):
    h = {}
    if ctype is not None:
        h["Content-Type"] = ctype
    h.update(headers or {})
    return request("POST", url, body, h, **kw)


def expect_status(r, status):
    expect(r.status == status, "expected %d, got %s" % (status, r))


def expect_names(r, *words):
    """The body mentions at least one of words (case-insensitive)."""
    low = r.text.lower()
    expect(any(w.lower() in low for w in words),
           "body should name %s: %s" % (" or ".join(repr(w) for w in words), one_line(r.text)))


def expect_stanza_ns_consistent(r):
    """A stanza returned to the HTTP user: the component stream's namespace
    (jabber:component:accept) must not leak into it, and the stanza's own
    children (<error/>, <body/>, ...) share the stanza's namespace."""
    expect("jabber:component:accept" not in r.text,
           "the component namespace leaks into the body: %s" % one_line(r.text, 400))
    x = r.xml()
    for k in x:
        if local(k.tag) in ("error", "body", "subject", "thread"):
            expect(ns_of(k.tag) == ns_of(x.tag), "<%s> is in namespace %r but the stanza in %r: %s" % (
                local(k.tag), ns_of(k.tag), ns_of(x.tag), one_line(r.text, 400)))


def challenges(r):
    """Every WWW-Authenticate header's value."""
    return [v for k, v in r.headers.items() if k.lower() == "www-authenticate"]


# ---- the registry and the runner -------------------------------------------------------------

def selected(only, text):
    """Whether a check runs: all of them when only is empty, else those
    whose text contains one of only, in any case."""
    return not only or any(o.lower() in text.lower() for o in only)


class Check:
    def __init__(self, desc, fn, group, needs_root):
        self.desc = desc
        self.fn = fn
        self.group = group          # the webhook suite's groups of one bridge configuration
        self.needs_root = needs_root


class Suite:
    """A suite's checks, in the order they were registered.  Each prints
    as "[name] description" and -k WORDS chooses it by that text; the
    HTTP suite's are labelled with the deployment instead (by_mode), and
    chosen by their description alone."""

    def __init__(self, name, by_mode=False):
        self.name = name
        self.by_mode = by_mode
        self.checks = []

    def test(self, desc, group=None, needs_root=False):
        """The decorator that adds a check: @suite.test("what it shows")."""
        def deco(fn):
            self.checks.append(Check(desc, fn, group, needs_root))
            return fn
        return deco

    def label(self, check, mode=None):
        return "[%s] %s" % (mode or self.name, check.desc)

    def chosen(self, only):
        return [ch for ch in self.checks
                if selected(only, ch.desc if self.by_mode else self.label(ch))]

    def run_one(self, runner, ctx, check, guard=False, known=None):
        """One check, with alice and bob online (a check before may have
        failed to bring them back); ctx's notes are printed after it."""
        for cl in (ctx.alice, ctx.bob):
            if cl is not None and not cl.online:
                try:
                    cl.wait_online(15)
                except TimeoutError:
                    pass
        fn = guarded(check.fn) if guard else check.fn
        label = self.label(check, ctx.mode)
        before = len(ctx.notes)
        if known and check.desc in known:
            runner.check_known(label, fn, known[check.desc], ctx)
        else:
            runner.check(label, fn, ctx)
        for n in ctx.notes[before:]:
            runner.line("# [%s] note: %s" % (ctx.label, n))

    def run(self, runner, ctx, only, guard=False, known=None):
        """Every chosen check, in order; how many ran."""
        chosen = self.chosen(only)
        for check in chosen:
            self.run_one(runner, ctx, check, guard, known)
        return len(chosen)


class Runner:
    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.n = 0
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.todo = 0           # known failures: printed, counted apart

    def line(self, s):
        self.out.write(s + "\n")
        self.out.flush()

    def _call(self, label, fn, args):
        """fn(*args) as the next check: None if it passed, else what it
        raised (an interruption ends the run)."""
        self.n += 1
        try:
            fn(*args)
        except KeyboardInterrupt:
            self._fail(label, "interrupted")
            raise
        except Exception as e:
            return e
        self.passed += 1
        self.line("ok %d - %s" % (self.n, label))
        return None

    def check(self, label, fn, *args):
        e = self._call(label, fn, args)
        if isinstance(e, TestFailure):
            self._fail(label, str(e))
        elif e is not None:
            tb = traceback.extract_tb(e.__traceback__)
            where = "%s:%d" % (tb[-1].filename.rsplit("/", 1)[-1], tb[-1].lineno) if tb else "?"
            self._fail(label, "%s: %s (at %s)" % (type(e).__name__, e, where))

    def check_known(self, label, fn, reason, *args):
        """A check known to fail for reason (a bug that is not ours to fix
        here): its failure prints "not ok ... # TODO reason" and counts
        neither way; its success counts as passed, with a note."""
        e = self._call(label, fn, args)
        if e is None:
            self.line("# note: known to fail (%s), but passed" % reason)
        else:
            self.todo += 1
            self.line("not ok %d - %s: %s # TODO %s" % (self.n, label, one_line(str(e) or repr(e), 300),
                                                         reason))

    def _fail(self, label, detail):
        self.failed += 1
        detail = one_line(detail, 600)
        self.failures.append((label, detail))
        self.line("not ok %d - %s: %s" % (self.n, label, detail))

    def summary(self):
        return "%d passed, %d failed" % (self.passed, self.failed)


def guarded(fn):
    """fn, failing if a process of the stack died while it ran; the dead
    process is restarted so that later checks still mean something."""
    def run(c):
        err = None
        try:
            fn(c)
        except Exception as e:
            err = e
        dead = c.stack.check_alive(expect_all=True)
        if dead:
            report = c.stack.crash_report()
            try:
                c.stack.revive()
                restarted = "restarted"
            except Exception as e:
                restarted = "restart failed: %s" % e
            raise TestFailure("%s (%s)%s%s" % (
                "; ".join(dead), restarted, "; log: %s" % report if report else "",
                "; the check itself: %s" % err if err else ""))
        if err is not None:
            raise err
    return run


def restore_bridge(runner, stack, label):
    """The bridge back on the stack's configuration after a suite that
    restarted it with its own; a failure to do so is a failed check."""
    try:
        stack.restart_bridge()
    except Exception as e:
        runner.check("[%s] the bridge restarts with the stack's configuration" % label, fail_with, e)


# ---- what a check gets ---------------------------------------------------------------------------

class Ctx:
    """The stack, the XMPP clients, the URL to POST to (the stack's
    lighttpd through FastCGI unless a deployment's is given) and the
    label of the suite (or of the deployment) the check runs in."""

    def __init__(self, stack, alice, bob=None, label="", runner=None, url=None, mode=None):
        self.stack = stack
        self.alice = alice
        self.bob = bob
        self.label = label
        self.mode = mode
        self.runner = runner
        self._url = url
        self.notes = []
        self._made = {}

    @property
    def url(self):
        return self._url or self.stack.url_fcgi

    def note(self, s):
        """A line printed after the check: what it saw, not a failure."""
        self.notes.append(s)

    def once(self, key, make):
        """make(), called the first time only: what a suite's checks
        share (a token, say)."""
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def figure(self, text):
        """A measurement, printed at once as a "# " line."""
        self.runner.line("# [%s] %s" % (self.label, text))

    # ---- alice's side ----

    def msg_to_alice(self, text, extra_attrs="", to=ALICE):
        return "<message to='%s'%s><body>%s</body></message>" % (to, extra_attrs, text)

    def alice_gets(self, pred, timeout=10):
        return self.alice.wait_for(pred, timeout)

    def alice_gets_body(self, text, timeout=10):
        return self.alice.wait_for(lambda r: r.kind == "message" and r.body == text, timeout)

    def alice_never_got(self, text):
        return self.alice.find(lambda r: text in r.xml) is None

    # ---- the bridge's status and log ----

    def status(self):
        """The bridge's status (xmpp-restd status), as a dict."""
        p = subprocess.run([self.stack.bridge_bin, "-c", self.stack.conf_path, "status"],
                           capture_output=True, timeout=20)
        if p.returncode != 0:
            raise TestFailure("xmpp-restd status: %d %s" % (
                p.returncode, p.stderr.decode("utf-8", "replace")))
        return json.loads(p.stdout)

    def wait_status(self, pred, what, timeout=20):
        """The bridge's status once pred(status) holds; a failure naming
        what and the last status otherwise."""
        last = {}

        def ok():
            last["st"] = self.status()
            return last["st"] if pred(last["st"]) else None
        return wait_until(ok, timeout, lambda: "%s (status: %s)" % (what, last.get("st")), 0.1)

    def log_offset(self):
        try:
            return os.path.getsize(self.stack.bridge_log)
        except OSError:
            return 0

    def log_lines(self, offset=0):
        try:
            with open(self.stack.bridge_log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def wait_log(self, pred, offset=0, timeout=5):
        """The first line of the bridge's log from offset for which
        pred(line) holds, waiting up to timeout seconds; None otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            for ln in self.log_lines(offset):
                if pred(ln):
                    return ln
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


def delivered(ctx, w):
    """alice receives a message whose body is w."""
    rec = ctx.alice.wait_for(lambda r: r.kind == "message" and r.body == w, 10)
    expect(rec is not None, "alice did not receive %r" % w)


def with_bridge_conf(ctx, extra, fn):
    """Runs fn() with the bridge restarted on the stack's configuration
    plus extra; the stack's own comes back afterwards, even on failure."""
    ctx.stack.restart_bridge(extra)
    try:
        fn()
    finally:
        ctx.stack.restart_bridge()


# ---- the bridge's socket (common/proto.h) -------------------------------------------------------

F_KIND, F_ID, F_TO, F_FROM, F_TYPE, F_STANZA, F_TIMEOUT, F_WAIT = range(1, 9)
FIELD_OUTCOME, FIELD_TEXT = 9, 12
F_AUTHORIZATION = 17
FRAME_SUBMIT, FRAME_OUTCOME, FRAME_STATUS = 1, 2, 4


def frame(seq, fields, version=1, ftype=FRAME_SUBMIT):
    payload = b"".join(struct.pack(">BI", t, len(v)) + v for t, v in fields)
    return b"XR" + bytes([version, ftype]) + struct.pack(">II", seq, len(payload)) + payload


def read_frame(sock):
    """(seq, {tag: text}) of the next frame on sock."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) >= 12 and len(data) >= 12 + struct.unpack(">I", data[8:12])[0]:
            break
    expect(len(data) >= 12 and data[:2] == b"XR", "no answer frame: %r" % data[:40])
    n = struct.unpack(">I", data[8:12])[0]
    fields, off, body = {}, 0, data[12:12 + n]
    while off < len(body):
        tag, ln = struct.unpack(">BI", body[off:off + 5])
        fields[tag] = body[off + 5:off + 5 + ln].decode()
        off += 5 + ln
    return struct.unpack(">I", data[4:8])[0], fields


class FrameStream:
    """A socket whose recv() stops at the end of each frame, so that
    read_frame() can read several frames that arrive together."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.left = None  # bytes of the current frame not yet handed out

    def recv(self, n):
        if not self.buf:
            self.buf = self.sock.recv(65536)
            if not self.buf:
                return b""
        if self.left is None:
            while len(self.buf) < 12:
                more = self.sock.recv(65536)
                if not more:
                    break
                self.buf += more
            if len(self.buf) < 12:
                out, self.buf = self.buf, b""
                return out
            self.left = 12 + struct.unpack(">I", self.buf[8:12])[0]
        k = min(n, self.left, len(self.buf))
        out, self.buf = self.buf[:k], self.buf[k:]
        self.left -= k
        if self.left == 0:
            self.left = None
        return out


def ask(stack, raw, timeout=10):
    """raw sent on a new connection to the bridge's socket; its answer
    frame as (seq, fields)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(stack.socket_path)
        s.sendall(raw)
        return read_frame(s)


def submit_fields(token, stanza, to, frm, kind="message", sid=None, typ=None, wait="sent",
                  timeout_ms=5000):
    """The fields of a SUBMIT frame for stanza, authorized by a Bearer token."""
    fields = [(F_KIND, kind.encode()), (F_ID, (sid or word()).encode()),
              (F_TO, to.encode()), (F_FROM, frm.encode())]
    if typ is not None:
        fields.append((F_TYPE, typ.encode()))
    fields += [(F_STANZA, stanza.encode()), (F_TIMEOUT, str(timeout_ms).encode()),
               (F_WAIT, wait.encode()), (F_AUTHORIZATION, ("Bearer " + token).encode())]
    return fields


# ---- the responder as a CGI program -----------------------------------------------------------------

def cgi(stack, body, env_extra=None, conf=None):
    """Runs the responder as a CGI program; returns (status, headers, body)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": CT,
        "GATEWAY_INTERFACE": "CGI/1.1",
        "XMPP_REST_CONF": conf or stack.conf_path,
        "HTTP_AUTHORIZATION": "Bearer " + stack.token,
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    env.update(env_extra or {})
    p = subprocess.run([stack.responder_bin], input=body.encode(), env=env,
                       capture_output=True, timeout=30)
    head, _, rest = p.stdout.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode().split("\r\n"):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = int(headers.get("status", "0").split()[0])
    return status, headers, rest.decode("utf-8", "replace")
