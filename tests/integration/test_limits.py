"""Limits (issue 14, smaller findings).

- What one responder connection may hold: client_idle_timeout closes idle
  connections to the bridge's socket, so they give their max_clients slot
  back; max_pipelined bounds the SUBMITs in flight on one connection.
  Spoken straight to the socket, with the frame helpers of harness.py.
- A per-credential send rate (`token add … --rate N/s`, and the same for
  `password add`): past it, 429 with Retry-After, and other credentials go
  on as before.

Runs once, under the stack's lighttpd (FastCGI); restarts the bridge with
settings of its own, and with the stack's at its end.
"""

import socket
import time

from harness import (ALICE_FULL, BOB_FULL as BOB, COMPONENT, F_AUTHORIZATION, FIELD_OUTCOME,
                     FIELD_TEXT, FRAME_STATUS, Ctx, FrameStream, Suite, basic, expect, expect_names,
                     expect_status, frame, msg, post, read_frame, restore_bridge, submit_fields, word)

SUITE = Suite("limits")
test = SUITE.test
NS_SILENT = "urn:xmpp-rest:test:silent"
GENEROUS_S = 30  # "closed eventually": a bound, not a measurement


def connect(stack, timeout=GENEROUS_S):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(stack.socket_path)
    return s


def closed_by_bridge(s):
    """True once the bridge closes s (reads nothing but EOF), within
    GENEROUS_S; what it reads before is a failure."""
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    expect(data == b"", "the bridge sent %r instead of closing" % data[:60])
    return True


def log_count(stack, needle):
    try:
        with open(stack.bridge_log, "rb") as f:
            return f.read().decode("utf-8", "replace").count(needle)
    except OSError:
        return 0


def wait_log(stack, needle, more_than):
    deadline = time.monotonic() + GENEROUS_S
    while time.monotonic() < deadline:
        if log_count(stack, needle) > more_than:
            return True
        time.sleep(0.2)
    return False


def status_answers(stack):
    with connect(stack) as s:
        s.sendall(frame(7, [], ftype=FRAME_STATUS))
        seq, f = read_frame(s)
    return seq == 7 and f.get(FIELD_TEXT, "").startswith("{")


IDLE_LOG = "(client_idle_timeout)"


def silent_iq(stack, seq):
    sid = "pipe-%d-%s" % (seq, word())
    st = "<iq type='get' from='%s' to='%s' id='%s'><q xmlns='%s'/></iq>" % (
        COMPONENT, BOB, sid, NS_SILENT)
    return frame(seq, submit_fields(stack.token, st, BOB, COMPONENT, kind="iq", sid=sid, typ="get",
                                    wait="reply", timeout_ms=3000))


def burst(stack, headers, frm=None, n=12):
    """n POSTs in quick succession: their responses."""
    return [post(stack.url_fcgi, msg(word(), frm), headers=headers) for _ in range(n)]


def expect_rate_limited(rs, name):
    codes = [r.status for r in rs]
    expect(codes[0] == 202 and codes[1] == 202, "the burst of 2 was not let through: %r"
           % codes)
    limited = [r for r in rs if r.status == 429]
    expect(limited, "no 429 in a burst of %d: %r" % (len(rs), codes))
    expect(set(codes) <= {202, 429}, "statuses %r" % codes)
    r = limited[0]
    ra = r.header("Retry-After") or ""
    expect(ra.isdigit() and int(ra) >= 1, "Retry-After %r on %s" % (ra, r))
    expect_names(r, "'%s'" % name)
    expect_names(r, "2/s")
    expect(len(r.body.strip().splitlines()) == 1, "the body is not one line: %r" % r.body)


@test("token add --rate 2/s: a quick burst of POSTs gets 429 with Retry-After (>= 1 s) and a "
      "line naming the limit; another token is unaffected")
def t_rate_token(c):
    stack = c.stack
    name = "rated-" + word()
    tok = stack.add_token(name, "--rate", "2/s")
    with open(stack.credentials_path) as f:
        line = [ln for ln in f if ln.startswith(name + " ")][0]
    expect(" rate=2/s" in line, "stored as %r" % line)
    expect_rate_limited(burst(stack, {"Authorization": "Bearer " + tok}), name)
    # another token is unaffected, at once
    other = burst(stack, {"Authorization": "Bearer " + stack.token}, n=6)
    expect(all(r.status == 202 for r in other), "the other token got %r" % [
        r.status for r in other])


@test("password add --rate 2/s: a Basic user past the rate gets 429 with Retry-After")
def t_rate_basic(c):
    stack = c.stack
    user = "rated-" + word()
    password = "correct horse " + word()
    stack.credential_cmd("password", "add", user, "--rate", "2/s", stdin=password + "\n")
    expect_rate_limited(burst(stack, basic(user, password)), user)
    other = post(stack.url_fcgi, msg(word()), headers={"Authorization": "Bearer " + stack.token})
    expect_status(other, 202)


@test("token add --rate refuses 0/s, 2, 2/min, x/s")
def t_rate_bad(c):
    stack = c.stack
    for bad in ("0/s", "2", "2/min", "x/s"):
        r = stack.credential_cmd("token", "add", "bad-" + word(), "--rate", bad, check=False)
        expect(r.returncode != 0 and "--rate" in r.stderr,
               "--rate %s: exit %d, %r" % (bad, r.returncode, r.stderr))


@test("socket: an Authorization scheme with CR LF and BEL is quoted without them in the "
      "401 reason")
def t_auth_reason_one_line(c):
    """The reason for an unknown scheme quotes it without its control
    bytes (found by fuzz_auth): the log and the 401 body stay one line."""
    stack = c.stack
    st = "<message from='%s' to='alice@localhost/test' id='x1'><body>x</body></message>" % (
        COMPONENT)
    fields = [(t, v) for t, v in submit_fields("x", st, ALICE_FULL, COMPONENT, sid="x1")
              if t != F_AUTHORIZATION]
    fields.append((F_AUTHORIZATION, b"Dig\r\nFORGED\x07log x"))
    with connect(stack) as s:
        s.sendall(frame(11, fields))
        seq, f = read_frame(s)
    text = f.get(FIELD_TEXT, "")
    expect(seq == 11 and f.get(FIELD_OUTCOME) == "unauthorized", "answer %d %r" % (seq, f))
    expect("scheme 'Dig??FORGED?log'" in text, "the reason: %r" % text)
    expect(not any(ord(c) < 0x20 for c in text), "a control byte in %r" % text)


@test("client_idle_timeout 2, max_clients 2: two idle connections are closed (and logged), "
      "and a new client gets in")
def t_idle_frees_slot(c):
    stack = c.stack
    stack.restart_bridge({"client_idle_timeout": 2, "max_clients": 2})
    before = log_count(stack, IDLE_LOG)
    a, b = connect(stack), connect(stack)
    try:
        # both slots are taken: a third is refused at once
        with connect(stack) as c:
            _, f = read_frame(c)
        expect(f.get(FIELD_OUTCOME) == "busy" and "max_clients" in f.get(FIELD_TEXT, ""),
               "a third connection: %r" % f)
        expect(closed_by_bridge(a), "the first idle connection was not closed "
               "within %d s" % GENEROUS_S)
        expect(closed_by_bridge(b), "the second idle connection was not closed")
    finally:
        a.close()
        b.close()
    expect(status_answers(stack), "a new connection after the idle ones were closed "
           "got no status")
    expect(log_count(stack, IDLE_LOG) >= before + 2,
           "the bridge did not log the closes (%r)" % IDLE_LOG)


@test("client_idle_timeout: a connection holding half a frame is closed")
def t_idle_half_frame(c):
    stack = c.stack
    stack.restart_bridge({"client_idle_timeout": 2})
    with connect(stack) as s:
        s.sendall(frame(3, [])[:7])  # a header begun, never finished
        expect(closed_by_bridge(s), "a connection holding half a frame was not closed")


@test("client_idle_timeout: after the bridge closed the responder's idle connection, the "
      "next POST answers 202")
def t_idle_responder_reconnects(c):
    stack = c.stack
    stack.restart_bridge({"client_idle_timeout": 2})
    before = log_count(stack, IDLE_LOG)
    r = post(stack.url_fcgi, "<message to='alice@localhost'><body>%s</body></message>"
             % word())
    expect_status(r, 202)
    # the responder's kept connection goes idle and the bridge closes it
    expect(wait_log(stack, IDLE_LOG, before), "the bridge closed no idle connection")
    r = post(stack.url_fcgi, "<message to='alice@localhost'><body>%s</body></message>"
             % word())
    expect_status(r, 202)


@test("max_pipelined 3: a 4th SUBMIT in flight on one connection is answered busy at once; "
      "the 3 are answered, the connection serves the next")
def t_pipelined(c):
    stack = c.stack
    stack.restart_bridge({"max_pipelined": 3})
    with connect(stack) as s:
        fs = FrameStream(s)
        s.sendall(b"".join(silent_iq(stack, n) for n in (1, 2, 3, 4)))
        seq, f = read_frame(fs)
        expect(seq == 4, "the first answer is for seq %d, not the 4th (%r)" % (seq, f))
        expect(f.get(FIELD_OUTCOME) == "busy", "the 4th: %r" % f)
        expect("max_pipelined" in f.get(FIELD_TEXT, ""), "the 4th's reason: %r" % f)
        got = {}
        for _ in range(3):
            seq, f = read_frame(fs)
            got[seq] = f.get(FIELD_OUTCOME)
        expect(got == {1: "timeout", 2: "timeout", 3: "timeout"},
               "the three in flight were answered %r" % got)
        # the connection is still served
        s.sendall(silent_iq(stack, 5))
        seq, f = read_frame(fs)
        expect(seq == 5 and f.get(FIELD_OUTCOME) == "timeout", "the 5th: %d %r" % (seq, f))


def run_suite(runner, stack, alice, bob, only=None):
    """The checks chosen; the idle and pipelining ones restart the bridge
    with settings of their own, so the stack's comes back after them."""
    if SUITE.run(runner, Ctx(stack, alice, bob, label=SUITE.name, runner=runner), only):
        restore_bridge(runner, stack, SUITE.name)
