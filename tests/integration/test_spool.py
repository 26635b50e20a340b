"""The spool suite (issue 6, incoming half): messages that the webhook
cannot take now (connection refused, 408, 429, 500, 502, 503, 504, no
answer in time) are written to spool_dir and retried with back-off and the
same X-XMPP-Rest-Delivery id, in order per (URL, sender), until the
webhook takes them or retry_max_age has passed; the spool survives kill -9.

Run once per run of run.py, after the webhook suite, against the real
stack: alice@localhost/test and bob@localhost/test (real slixmpp clients)
send messages to rest.localhost through Prosody; the bridge delivers them
to a real HTTP server of ours on 127.0.0.1 (webhook_server.py) that is down
(a closed port, or 503) and then up.  Each check restarts the bridge with
a spool directory of its own and callback_retry_min 1 / callback_retry_max 2,
so the retries come quickly; every wait is bounded.  The stack's own
configuration is restored at the end.
"""

import hashlib
import hmac
import os
import re
import signal
import time

from harness import COMPONENT, Ctx, Suite, TestFailure, expect, restore_bridge, stanza_error, tok
from webhook_server import Reply, WebhookServer, closed_port
from xmpp_client import NS_RECEIPTS, TestClient

SECRET = "a-spool-test-secret-of-32-chars!"
FAST = {"callback_retry_min": 1, "callback_retry_max": 2}
# A resource of 1020 bytes (XMPP allows 1023): alice's {from} fills in
# 1040 characters, so "{from}/{from}" makes a path over the 2047 the
# webhook client takes, in a URL still under the 4095 of the expansion.
LONG_RESOURCE = "r" * 1020

SUITE = Suite("spool")
test = SUITE.test


class SpoolCtx(Ctx):
    """The shared Ctx, with the spool directory of the bridge's current
    run and the webhook servers and closed ports of the check."""

    def __init__(self, stack, alice, bob, runner):
        Ctx.__init__(self, stack, alice, bob, label=SUITE.name, runner=runner)
        self.servers = []
        self.sockets = []
        self.n = 0
        self.spool = None
        self.restarted = False
        self.long = None

    def long_client(self):
        """alice, logged in a second time with LONG_RESOURCE (kept for the
        suite; stopped at its end)."""
        if self.long is None:
            s = self.stack
            self.long = TestClient(s.jid("alice"), s.users["alice"], "127.0.0.1", s.c2s_port,
                                   resource=LONG_RESOURCE).start()
        self.long.clear()
        return self.long

    # ---- the bridge ----------------------------------------------------------

    def restart(self, conf):
        """Restarts the bridge with conf, FAST and a new spool directory
        (returned)."""
        self.n += 1
        self.spool = self.stack.path("spool-%d" % self.n)
        extra = dict(FAST)
        extra["spool_dir"] = self.spool
        extra.update(conf)
        self.stack.restart_bridge(extra)
        self.restarted = True
        for cl in (self.alice, self.bob):
            if not cl.online:
                cl.wait_online(15)
        return self.spool

    def kill9(self):
        """kill -9 of the bridge and its children: no shutdown at all.  The
        exit status is not recorded (it is not a failed clean exit)."""
        b = self.stack.bridge
        try:
            os.killpg(b.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        b.p.wait(20)
        b.log.close()
        self.stack.bridge = None

    # ---- the webhook --------------------------------------------------------------

    def server(self, handler, port=0):
        srv = WebhookServer(port=port)
        srv.handler = handler
        self.servers.append(srv)
        return srv

    def down_port(self):
        """A port of 127.0.0.1 that refuses connections until up(port)."""
        port, sock = closed_port()
        self.sockets.append(sock)
        return port

    def restart_webhook_down(self, path, conf=None):
        """Restarts the bridge (as restart) with its webhook at path on a
        port that refuses connections; returns the port, for up()."""
        port = self.down_port()
        self.restart(dict({"callback_url": "http://127.0.0.1:%d%s" % (port, path)}, **(conf or {})))
        return port

    def up(self, port, handler=None):
        """A webhook on port (refused until now), answering 204 or handler."""
        for s in self.sockets:
            if s.getsockname()[1] == port:
                s.close()
                self.sockets.remove(s)
                break
        return self.server(handler, port)

    def close(self):
        for s in self.servers:
            try:
                s.close()
            except Exception:
                pass
        for s in self.sockets:
            s.close()
        self.servers, self.sockets = [], []

    # ---- files and the log -----------------------------------------------------

    def files(self, suffix=".msg"):
        try:
            return sorted(n for n in os.listdir(self.spool) if n.endswith(suffix))
        except OSError:
            return []

    def wait_files(self, n, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            got = self.files()
            if len(got) == n:
                return got
            if time.monotonic() > deadline:
                raise TestFailure("%d file(s) in %s after %gs, expected %d: %s" % (
                    len(got), self.spool, timeout, n, got[:5]))
            time.sleep(0.05)



def message(sid, body, to="bot", extra=""):
    return "<message to='%s@%s' id='%s' type='chat'><body>%s</body>%s</message>" % (
        to, COMPONENT, sid, body, extra)


def taken(r):
    """A request the webhook answered 2xx."""
    return r.reply is not None and 200 <= r.reply.status < 300


def wait_taken(srv, ids, timeout):
    """Waits until every stanza id in ids has a 2xx answer; returns the
    requests (all of them, answered)."""
    want = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        done = {r.stanza_id for r in srv.requests() if taken(r) and r.answered is not None}
        if want <= done:
            return srv.requests()
        if time.monotonic() > deadline:
            missing = sorted(want - done)
            raise TestFailure("%d of %d message(s) not taken by the webhook within %gs, e.g. %s" % (
                len(missing), len(want), timeout, missing[:4]))
        time.sleep(0.05)


def expect_order(reqs, sender, ids):
    """ids were taken (2xx) by the webhook exactly once each and in this
    order."""
    got = [r.stanza_id for r in sorted(reqs, key=lambda r: r.time)
           if taken(r) and r.stanza_id in set(ids)]
    dups = sorted({i for i in got if got.count(i) > 1})
    expect(not dups, "%s: taken more than once: %s" % (sender, dups[:5]))
    expect(got == list(ids), "%s: taken in the order %s, sent %s" % (
        sender, [i.rsplit("-", 1)[-1] for i in got], [i.rsplit("-", 1)[-1] for i in ids]))


def expect_once(reqs, sender, ids):
    """ids were taken (2xx) exactly once each, in any order."""
    got = [r.stanza_id for r in reqs if taken(r) and r.stanza_id in set(ids)]
    expect(sorted(got) == sorted(ids), "%s: taken %s, sent %s" % (
        sender, sorted(got), sorted(ids)))


def expect_same_ids(reqs, ids):
    """Every try of a message carries the same X-XMPP-Rest-Delivery and
    body, and no two messages share an id; returns {stanza id: [requests]}."""
    by = {}
    for r in reqs:
        if r.stanza_id in ids:
            by.setdefault(r.stanza_id, []).append(r)
    seen = {}
    for sid, rs in by.items():
        dids = {r.delivery_id for r in rs}
        expect(len(dids) == 1 and None not in dids, "%s: %d tries with delivery ids %s" % (
            sid, len(rs), sorted(d or "-" for d in dids)))
        d = dids.pop()
        expect(d not in seen, "%s and %s share the delivery id %s" % (sid, seen.get(d), d))
        expect(len({r.body for r in rs}) == 1, "%s: the tries' bodies differ: %s" % (
            sid, " | ".join(r.text[:200] for r in rs[:2])))
        seen[d] = sid
    return by


def error_to(client, sid, timeout):
    return client.wait_for(lambda r: r.kind == "message" and r.id == sid and r.type == "error",
                           timeout)


def expect_error(rec, etype, cond, text=None):
    e = stanza_error(rec.element)
    expect(e is not None and e[:2] == (etype, cond), "error %s, expected %s/%s: %s" % (
        e, etype, cond, rec.xml))
    if text is not None:
        expect(e[2] is not None and text in e[2], "error text %r, expected %r" % (e[2], text))


def no_errors(client, ids):
    got = [r for r in client.records() if r.kind == "message" and r.type == "error" and r.id in ids]
    expect(not got, "the sender got errors: %s" % " | ".join(r.xml[:200] for r in got[:3]))


def signature_ok(req):
    ts = req.header("X-XMPP-Rest-Timestamp")
    sig = req.header("X-XMPP-Rest-Signature")
    if not ts or not sig:
        return False
    want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + req.body,
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, want)


# ---- the checks ----------------------------------------------------------------------------------

@test("the webhook answers 503 for a while, then 204: 30 messages of alice and 5 of bob are all "
      "taken after recovery, in order per sender, once each; every try of a message has the same "
      "X-XMPP-Rest-Delivery and body, signed afresh; once taken, a receipt and a reply stanza go "
      "back as the reply rules say")
def t_down_then_up(c):
    t = tok()
    state = {"up": False}

    a_ids = ["a-%s-%02d" % (t, i) for i in range(30)]

    def handler(req):
        if state["up"] and req.stanza_id == a_ids[0]:
            return Reply.xmpp("<message><body>reply %s</body></message>" % t)
        if state["up"]:
            return Reply(204)
        return Reply(503, "down", ctype="text/plain", headers={"Retry-After": "1"})
    srv = c.server(handler)
    c.restart({"callback_url": srv.url("/spool/{kind}"), "callback_secret": SECRET})
    b_ids = ["b-%s-%02d" % (t, i) for i in range(5)]
    receipt = "<request xmlns='%s'/>" % NS_RECEIPTS
    for i, sid in enumerate(a_ids):
        xml = message(sid, "a%d" % i, extra=receipt if i == 10 else "")
        if i == 0:      # the head, retried while down: xml:lang and a thread survive
            xml = xml.replace("<message ", "<message xml:lang='de' ").replace(
                "</body>", "</body><thread>th-%s</thread>" % t)
        c.alice.send_raw(xml)
    for i, sid in enumerate(b_ids):
        c.bob.send_raw(message(sid, "b%d" % i))
    c.wait_files(35, 20)
    # the head of alice's queue is tried again while the webhook is down
    srv.wait_count(lambda r: r.stanza_id == a_ids[0], 2, 10)
    no_errors(c.alice, a_ids)
    no_errors(c.bob, b_ids)
    state["up"] = True
    late = ["a-%s-late%d" % (t, i) for i in range(3)]
    for sid in late:
        c.alice.send_raw(message(sid, "late"))
    reqs = wait_taken(srv, a_ids + late + b_ids, 40)
    time.sleep(2.5)         # a duplicate would come within callback_retry_max
    reqs = srv.requests()
    expect_order(reqs, "alice", a_ids + late)
    expect_order(reqs, "bob", b_ids)
    by = expect_same_ids(reqs, set(a_ids + late + b_ids))
    expect(len(by[a_ids[0]]) >= 3, "alice's first message was tried %d times" % len(by[a_ids[0]]))
    bad = [r.stanza_id for r in reqs if r.stanza_id in by and not signature_ok(r)]
    expect(not bad, "bad signatures on %s" % bad[:5])
    stamps = [r.header("X-XMPP-Rest-Timestamp") for r in by[a_ids[0]]]
    expect(len(set(stamps)) == len(stamps), "retries are not signed afresh: timestamps %s" % stamps)
    c.wait_files(0, 10)
    no_errors(c.alice, a_ids + late)
    no_errors(c.bob, b_ids)

    def receipt_for(r):
        rc = r.child(NS_RECEIPTS, "received") if r.kind == "message" else None
        return rc is not None and rc.get("id") == a_ids[10]
    c.alice.wait_for(receipt_for, 10)
    n = len([r for r in c.alice.records() if receipt_for(r)])
    expect(n == 1, "%d receipts for the message that asked for one" % n)
    # the webhook's reply to a spooled message follows the reply rules
    rec = c.alice.wait_for(lambda r: r.kind == "message" and r.body == "reply " + t, 10)
    th = rec.element.find("{jabber:client}thread")
    expect(rec.frm == "bot@" + COMPONENT and rec.type == "chat" and th is not None
           and th.text == "th-" + t, "the reply to the spooled message: %s" % rec.xml)


@test("kill -9 of the bridge with 15 messages spooled (webhook refusing connections); restarted, "
      "with the webhook up: all taken, in order per sender, with their first delivery ids")
def t_kill9(c):
    t = tok()
    port = c.restart_webhook_down("/k9/{kind}")
    a_ids = ["k9a-%s-%02d" % (t, i) for i in range(10)]
    b_ids = ["k9b-%s-%02d" % (t, i) for i in range(5)]
    for sid in a_ids:
        c.alice.send_raw(message(sid, sid))
    for sid in b_ids:
        c.bob.send_raw(message(sid, sid))
    before = c.wait_files(15, 20)
    c.kill9()
    expect(c.files() == before, "the spool changed with the kill: %s" % c.files()[:5])
    ids_on_disk = {}
    for name in before:
        with open(os.path.join(c.spool, name), "rb") as f:
            head = f.read(200).decode("utf-8", "replace")
        ids_on_disk[re.search(r"^id (\S+)$", head, re.M).group(1)] = name
    srv = c.up(port)
    off = c.log_offset()
    c.stack.start_bridge()
    line = c.wait_log(lambda ln: "spool" in ln and "15 message" in ln, off, 10)
    expect(line is not None, "no log line saying the 15 messages were loaded")
    reqs = wait_taken(srv, a_ids + b_ids, 30)
    time.sleep(1)           # a duplicate would come within callback_retry_max
    reqs = srv.requests()
    expect_order(reqs, "alice", a_ids)
    expect_order(reqs, "bob", b_ids)
    dids = {r.delivery_id for r in reqs}
    expect(dids == set(ids_on_disk), "delivery ids %s, the spool files had %s" % (
        sorted(dids)[:3], sorted(ids_on_disk)[:3]))
    c.wait_files(0, 10)


@test("a truncated and a garbage file in the spool at start: set aside as .bad with a log line "
      "naming each; the bridge runs and the good messages are taken")
def t_bad_files(c):
    t = tok()
    port = c.restart_webhook_down("/bad")
    ids = ["bf-%s-%d" % (t, i) for i in range(3)]
    for sid in ids:
        c.alice.send_raw(message(sid, sid))
    good = c.wait_files(3, 20)
    c.stack.stop_bridge()
    with open(os.path.join(c.spool, good[0]), "rb") as f:
        data = f.read()
    for name, content in (("trunc.msg", data[:-10]), ("garbage.msg", os.urandom(300)),
                          ("short-header.msg", data[:40])):
        p = os.path.join(c.spool, name)
        with open(p, "wb") as f:
            f.write(content)
        os.chmod(p, 0o600)
    srv = c.up(port)
    off = c.log_offset()
    c.stack.start_bridge()
    reqs = wait_taken(srv, ids, 20)
    expect_order(reqs, "alice", ids)
    for name in ("trunc.msg", "garbage.msg", "short-header.msg"):
        expect(os.path.exists(os.path.join(c.spool, name + ".bad")),
               "%s was not set aside: %s" % (name, os.listdir(c.spool)))
        line = c.wait_log(lambda ln, n=name: n in ln and "aside" in ln, off, 5)
        expect(line is not None, "no log line names %s" % name)
    line = c.wait_log(lambda ln: "trunc.msg" in ln and "truncated" in ln, off, 1)
    expect(line is not None, "the log does not say trunc.msg is truncated")
    expect(c.stack.bridge and c.stack.bridge.alive(), "the bridge died")
    c.wait_files(0, 10)


@test("spool_max_bytes 1 and a webhook answering 503: the message is bounced at once with "
      "wait/resource-constraint 'spool full', and the log says so")
def t_spool_full(c):
    t = tok()
    srv = c.server(lambda req: Reply(503))
    c.restart({"callback_url": srv.url("/full"), "spool_max_bytes": 1})
    off = c.log_offset()
    sid = "sf-" + t
    t0 = time.monotonic()
    c.alice.send_raw(message(sid, "full"))
    rec = error_to(c.alice, sid, 10)
    expect(time.monotonic() - t0 < 5, "the bounce took %.1f s" % (time.monotonic() - t0))
    expect_error(rec, "wait", "resource-constraint", "spool full")
    expect(c.wait_log(lambda ln: "spool full" in ln, off, 5) is not None, "no log line says 'spool full'")
    expect(not c.files(), "a file was written: %s" % c.files())


@test("spool_max_bytes 0 turns the spool off: a 503 to a message is the sender's error at once, "
      "as the reply rules say (cancel/service-unavailable)")
def t_spool_off(c):
    t = tok()
    srv = c.server(lambda req: Reply(503))
    c.restart({"callback_url": srv.url("/off"), "spool_max_bytes": 0})
    sid = "so-" + t
    c.alice.send_raw(message(sid, "off"))
    expect_error(error_to(c.alice, sid, 10), "cancel", "service-unavailable", "503")
    expect(not os.path.exists(c.spool), "spool_dir was made though the spool is off")


def bounced(client, c, sid, timeout=10):
    """The error stanza client got for sid; a failure naming the spool's
    state when none came."""
    try:
        return error_to(client, sid, timeout)
    except TimeoutError:
        raise TestFailure("no bounce within %g s; spool files %s, webhook status %s" % (
            timeout, c.files()[:3], c.status()["webhook"]))


@test("a callback URL that can never work (alice with a 1020-byte resource and {from} twice: a "
      "path over 2047 bytes) bounces her message at once with cancel/internal-server-error naming "
      "the reason; it is never spooled or POSTed, status shows nothing pending, the log says why, "
      "and alice's short resource still gets through")
def t_url_refused(c):
    t = tok()
    srv = c.server(lambda req: Reply(204))
    c.restart({"callback_url": srv.url("/long/{from}/{from}")})
    long = c.long_client()
    off = c.log_offset()
    sid, ok = "ul-" + t, "ul-ok-" + t
    long.send_raw(message(sid, "long"))
    rec = bounced(long, c, sid)
    expect_error(rec, "cancel", "internal-server-error", "longer than 2047")
    line = c.wait_log(lambda ln: "longer than 2047" in ln and "alice@localhost/rrrr" in ln, off, 5)
    expect(line is not None, "no log line names the sender and the reason")
    c.alice.send_raw(message(ok, "short"))
    wait_taken(srv, [ok], 10)
    expect(not c.files(), "spooled: %s" % c.files())
    # The short one's delivery ends when its worker reports back, a moment
    # after the webhook has it (longer under valgrind).
    deadline = time.monotonic() + 15
    while True:
        wh = c.status()["webhook"]
        if wh["in_flight"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    expect(wh["spool_messages"] == 0 and wh["in_flight"] == 0, "pending in status: %s" % wh)
    expect(not [r for r in srv.requests() if r.stanza_id == sid], "the message was POSTed")
    no_errors(c.alice, [ok])


@test("spooled messages whose URL, filled in again at start from a new callback_url, can never "
      "work: bounced with cancel/internal-server-error when their turn comes and their files "
      "removed, not retried for retry_max_age; the other sender's spooled message is taken")
def t_url_refused_spooled(c):
    t = tok()
    port = c.restart_webhook_down("/first/{kind}")
    long = c.long_client()
    ids = ["us-%s-%d" % (t, i) for i in range(2)]
    ok = "us-ok-" + t
    for sid in ids:
        long.send_raw(message(sid, sid))
    c.alice.send_raw(message(ok, ok))
    c.wait_files(3, 15)
    no_errors(long, ids)
    c.stack.stop_bridge()
    srv = c.up(port)
    off = c.log_offset()
    c.stack.restart_bridge(dict(FAST, spool_dir=c.spool,
                                callback_url="http://127.0.0.1:%d/second/{from}/{from}" % port))
    for sid in ids:
        expect_error(bounced(long, c, sid), "cancel", "internal-server-error")
    wait_taken(srv, [ok], 15)
    c.wait_files(0, 10)
    expect(not [r for r in srv.requests() if r.stanza_id in ids], "a refused message was POSTed")
    line = c.wait_log(lambda ln: "longer than 2047" in ln, off, 5)
    expect(line is not None, "no log line says why the spooled messages cannot be delivered")
    no_errors(c.alice, [ok])


def _mount_tmpfs(path, size):
    """A tmpfs of size bytes at path, for the bridge's user (root only)."""
    import pwd
    import subprocess
    os.makedirs(path, exist_ok=True)
    opts = "size=%d,mode=0700" % size
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("xmpp-rest")      # the stack's bridge user
            opts += ",uid=%d,gid=%d" % (pw.pw_uid, pw.pw_gid)
        except KeyError:
            pass
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    if r.returncode != 0:
        raise TestFailure("mount -t tmpfs: %s" % r.stdout.decode("utf-8", "replace").strip())


@test("a full disk (spool_dir on a 16 KiB tmpfs, webhook answering 503): once it is full, a "
      "message is bounced at once with wait/resource-constraint 'spool write failed' and a log "
      "line; the bridge runs on, and what was spooled is taken in order once the webhook is up",
      needs_root=True)
def t_full_disk(c):
    import subprocess
    t = tok()
    state = {"up": False}
    srv = c.server(lambda req: Reply(204) if state["up"] else Reply(503))
    mnt = c.stack.path("spool-tmpfs-%s" % t)
    _mount_tmpfs(mnt, 16384)
    try:
        off = c.log_offset()
        c.restart({"callback_url": srv.url("/disk"), "spool_dir": mnt})
        c.spool = mnt
        ids = ["fd-%s-%02d" % (t, i) for i in range(12)]
        for sid in ids:
            c.alice.send_raw(message(sid, "x" * 600))
        deadline = time.monotonic() + 15
        while True:
            errors = {r.id for r in c.alice.records()
                      if r.kind == "message" and r.type == "error" and r.id in ids}
            if len(errors) + len(c.files()) == len(ids) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        spooled = c.files()
        expect(errors and spooled, "%d bounced, %d spooled of %d" % (
            len(errors), len(spooled), len(ids)))
        expect(len(errors) + len(spooled) == len(ids), "%d bounced + %d spooled, sent %d" % (
            len(errors), len(spooled), len(ids)))
        for sid in sorted(errors)[:3]:
            rec = c.alice.find(lambda r, s=sid: r.id == s and r.type == "error")
            expect_error(rec, "wait", "resource-constraint", "spool write failed")
        line = c.wait_log(lambda ln: "not spooled" in ln and "No space" in ln, off, 5)
        expect(line is not None, "no log line says why a message was not spooled")
        expect(c.stack.bridge and c.stack.bridge.alive(), "the bridge died")
        state["up"] = True
        kept = [sid for sid in ids if sid not in errors]
        reqs = wait_taken(srv, kept, 30)
        expect_order(reqs, "alice", kept)
        c.wait_files(0, 10)
        expect(not [n for n in os.listdir(mnt) if n.startswith("tmp-")], "temporary files left")
    finally:
        c.stack.stop_bridge()
        subprocess.run(["umount", "-l", mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c.restart({})           # no callback_url: nothing uses the old mount point


@test("retry_max_age 3 with the webhook refusing connections: the sender gets "
      "wait/recipient-unavailable after about 3 s, the spool file is removed, the log says why")
def t_max_age(c):
    t = tok()
    c.restart_webhook_down("/age", {"retry_max_age": 3})
    off = c.log_offset()
    sid = "ma-" + t
    t0 = time.monotonic()
    c.alice.send_raw(message(sid, "age"))
    c.wait_files(1, 10)
    rec = error_to(c.alice, sid, 15)
    took = time.monotonic() - t0
    expect(2.5 <= took <= 10, "the bounce came after %.1f s" % took)
    expect_error(rec, "wait", "recipient-unavailable")
    c.wait_files(0, 5)
    line = c.wait_log(lambda ln: "giving up" in ln, off, 5)
    expect(line is not None, "no log line about giving up")


@test("an iq get and a presence to a webhook that is down are not spooled: the iq gets "
      "wait/recipient-unavailable at once")
def t_iq_not_spooled(c):
    t = tok()
    c.restart_webhook_down("/iq")
    sid = "iq-" + t
    t0 = time.monotonic()
    c.alice.send_raw("<iq type='get' to='bot@%s' id='%s'><q xmlns='urn:xmpp-rest:test:spool'/></iq>" % (
        COMPONENT, sid))
    c.alice.send_raw("<presence to='bot@%s' id='pr-%s'/>" % (COMPONENT, t))
    rec = c.alice.wait_for(lambda r: r.kind == "iq" and r.id == sid, 10)
    expect(rec.type == "error", "not an error: %s" % rec.xml)
    expect_error(rec, "wait", "recipient-unavailable")
    expect(time.monotonic() - t0 < 5, "the answer took %.1f s" % (time.monotonic() - t0))
    time.sleep(0.5)         # nothing is spooled: a window to see that nothing comes
    expect(not c.files(), "spooled: %s" % c.files())


@test("two URLs ({from} and {to} in callback_url): with alice's URL for dead@ answering 503, her "
      "messages to live@ and bob's to dead@ are taken at once while hers to dead@ wait, then come "
      "in order")
def t_two_urls(c):
    t = tok()
    # alice's URL for dead@ is dead; bob's for dead@ differs by {from}
    state = {"dead": True}
    srv = c.server(lambda req: Reply(503) if state["dead"] and "alice" in req.path
                   and "dead" in req.path else Reply(204))
    c.restart({"callback_url": srv.url("/two/{from}/{to}")})
    dead = ["td-%s-%d" % (t, i) for i in range(5)]
    live = ["tl-%s-%d" % (t, i) for i in range(5)]
    bobs = ["tb-%s-%d" % (t, i) for i in range(5)]
    t0 = time.monotonic()
    for d, l, b in zip(dead, live, bobs):
        c.alice.send_raw(message(d, d, to="dead"))
        c.alice.send_raw(message(l, l, to="live"))
        c.bob.send_raw(message(b, b, to="dead"))
    c.wait_files(5, 10)
    reqs = wait_taken(srv, live + bobs, 10)
    took = time.monotonic() - t0
    expect(took < 5, "the live URLs' messages took %.1f s" % took)
    # (first attempts run side by side, as before the spool: no order
    # between messages that never failed)
    expect_once(reqs, "alice to live@", live)
    expect_once(reqs, "bob to dead@ (his own URL)", bobs)
    time.sleep(2)           # the dead URL's messages wait: a window to see none taken
    expect(not any(taken(r) for r in srv.requests() if r.stanza_id in dead),
           "a message to the dead URL was taken")
    expect(len(c.files()) == 5, "%d spooled, expected alice's 5 to dead@" % len(c.files()))
    state["dead"] = False
    reqs = wait_taken(srv, dead, 15)
    expect_order(reqs, "alice to dead@, back up", dead)
    c.wait_files(0, 5)
    no_errors(c.alice, dead + live)


@test("Retry-After: 3 on a 503 (callback_retry_min 1, callback_retry_max 5) is honoured: "
      "tries at least 3 s apart")
def t_retry_after(c):
    t = tok()
    sid = "ra-" + t
    tries = []

    def handler(req):
        tries.append(req)
        if len(tries) <= 2:
            return Reply(503, headers={"Retry-After": "3"})
        return Reply(204)
    srv = c.server(handler)
    c.restart({"callback_url": srv.url("/ra"), "callback_retry_max": 5})
    c.alice.send_raw(message(sid, "ra"))
    reqs = wait_taken(srv, [sid], 20)
    times = [r.time for r in sorted(reqs, key=lambda r: r.time) if r.stanza_id == sid]
    expect(len(times) == 3, "%d tries" % len(times))
    gaps = [b - a for a, b in zip(times, times[1:])]
    expect(all(g >= 2.8 for g in gaps), "tries %s s apart" % ["%.1f" % g for g in gaps])


@test("the bridge stopped (SIGTERM) while a first delivery is under way: the message is spooled "
      "and, after the restart, delivered again with the same delivery id")
def t_stop_in_flight(c):
    t = tok()
    sid = "sif-" + t
    state = {"slow": True}
    srv = c.server(lambda req: Reply(204, delay=5) if state["slow"] else Reply(204))
    c.restart({"callback_url": srv.url("/sif"), "callback_timeout": 2})
    c.alice.send_raw(message(sid, "in flight"))
    first = srv.wait_for(lambda r: r.stanza_id == sid, 10)
    c.stack.stop_bridge()
    expect(len(c.files()) == 1, "spooled at the stop: %s" % c.files())
    state["slow"] = False
    c.stack.start_bridge()
    srv.wait_count(lambda r: r.stanza_id == sid, 2, 15)
    again = [r for r in srv.requests() if r.stanza_id == sid][1]
    expect(again.delivery_id == first.delivery_id, "delivery ids %s then %s" % (
        first.delivery_id, again.delivery_id))
    wait_taken(srv, [sid], 10)
    c.wait_files(0, 5)


# ---- running it -------------------------------------------------------------------------------------

def run_suite(runner, stack, alice, bob, only=None):
    """Runs the spool checks (those whose description contains one of
    only, if given); restores the stack's bridge configuration at the end."""
    chosen = SUITE.chosen(only)
    if not chosen:
        return
    c = SpoolCtx(stack, alice, bob, runner)
    try:
        for check in chosen:
            if check.needs_root and os.geteuid() != 0:
                runner.line("# [spool] skipped (it mounts a tmpfs, as root only): " + check.desc)
                continue
            t0 = time.monotonic()
            try:
                SUITE.run_one(runner, c, check, guard=True)
            finally:
                c.close()
                if stack.bridge is None:
                    try:
                        stack.start_bridge()
                    except Exception as e:
                        runner.line("# [spool] the bridge did not start again: %s" % e)
            runner.line("# [spool] %.1f s" % (time.monotonic() - t0))
    finally:
        if c.long is not None:
            c.long.stop()
        if c.restarted:
            restore_bridge(runner, stack, SUITE.name)
        c.close()
