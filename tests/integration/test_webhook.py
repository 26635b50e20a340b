"""The webhook suite, delivery: stanzas sent to the bridge's domain are
POSTed to callback_url as sent (headers, body, placeholders in the URL),
concurrently up to callback_max_inflight, over https with a CA of its
own, filtered by callback_stanzas and callback_addresses, over kept
connections; and what happens when the webhook cannot be reached or is
too slow.  How the suites run is in webhook_suite.py.
"""

import os
import re
import signal
import time
import urllib.parse

from harness import ALICE_FULL, COMPONENT, TestFailure, expect, local, one_line, tok
from webhook_server import Reply
from webhook_suite import (NS_WH, WebhookSuite, check_headers, expect_attrs, expect_empty_result,
                           expect_error, main_conf, parse_delivered)

# a duration in a log line: "12 ms", "0.012s", "1.5 s", "12ms"
_DURATION = re.compile(r"\d+(\.\d+)?\s?(ms|s|sec|secs|seconds|milliseconds|us|µs)\b", re.I)


def pct(s):
    """RFC 3986 percent-encoding: unreserved kept, the rest %XX uppercase."""
    return urllib.parse.quote(s, safe="")


SUITE = WebhookSuite()
test = SUITE.test
group = SUITE.group


group("main", main_conf)


@test("a message is POSTed with Content-Type, Content-Length, User-Agent, X-XMPP-Rest-Delivery "
      "and the stanza as sent (from, to, id, type, xml:lang, children)", group="main")
def t_message_delivered(c):
    t = tok()
    sid = "wm-" + t
    c.send("<message to='bot@%s' id='%s' type='chat' xml:lang='de'><body>hallo %s</body>"
           "<x xmlns='%s' a='1'><y>%s</y></x></message>" % (COMPONENT, sid, t, NS_WH, t))
    req = c.delivery(sid)
    c.delivered.append(("message", req))
    check_headers(req)
    x = parse_delivered(req)
    expect(local(x.tag) == "message", "a <%s>: %s" % (x.tag, req.text))
    expect_attrs(x, req.text, frm=ALICE_FULL, to="bot@" + COMPONENT, id=sid, type="chat", lang="de")
    body = next((ch for ch in x if local(ch.tag) == "body"), None)
    expect(body is not None and body.text == "hallo " + t, "body: %s" % one_line(req.text, 400))
    ext = next((ch for ch in x if ch.tag == "{%s}x" % NS_WH), None)
    expect(ext is not None and ext.get("a") == "1", "the extension element: %s" % one_line(req.text, 400))
    y = next(iter(ext), None)
    expect(y is not None and local(y.tag) == "y" and y.text == t, "the nested element: %s" % (
        one_line(req.text, 400)))


@test("a presence is POSTed the same way (no type, xml:lang, <status/> and <priority/> kept)",
      group="main")
def t_presence_delivered(c):
    t = tok()
    sid = "wp-" + t
    c.send("<presence to='bot@%s/res' id='%s' xml:lang='fr'><status>st %s</status>"
           "<priority>5</priority></presence>" % (COMPONENT, sid, t))
    req = c.delivery(sid)
    c.delivered.append(("presence", req))
    check_headers(req)
    x = parse_delivered(req)
    expect(local(x.tag) == "presence", "a <%s>: %s" % (x.tag, req.text))
    expect_attrs(x, req.text, frm=ALICE_FULL, to="bot@%s/res" % COMPONENT, id=sid, type=None, lang="fr")
    st = [ch.text for ch in x if local(ch.tag) == "status"]
    pr = [ch.text for ch in x if local(ch.tag) == "priority"]
    expect(st == ["st " + t] and pr == ["5"], "children: %s" % one_line(req.text, 400))


@test("an iq get is POSTed the same way; the webhook's 204 gives the sender an empty result",
      group="main")
def t_iq_delivered(c):
    t = tok()
    sid = "wi-" + t
    c.send("<iq type='get' to='bot@%s' id='%s' xml:lang='en'><query xmlns='%s' token='%s'/></iq>" % (
        COMPONENT, sid, NS_WH, t))
    req = c.delivery(sid)
    c.delivered.append(("iq", req))
    check_headers(req)
    x = parse_delivered(req)
    expect(local(x.tag) == "iq", "a <%s>: %s" % (x.tag, req.text))
    expect_attrs(x, req.text, frm=ALICE_FULL, to="bot@" + COMPONENT, id=sid, type="get", lang="en")
    q = list(x)
    expect(len(q) == 1 and q[0].tag == "{%s}query" % NS_WH and q[0].get("token") == t,
           "the child: %s" % one_line(req.text, 400))
    expect_empty_result(c.iq_reply(sid), sid, "bot@" + COMPONENT)


@test("every delivery has its own X-XMPP-Rest-Delivery id, and the bridge logs each outcome "
      "at info level with that id, the status and the time taken", group="main")
def t_delivery_log(c):
    expect(c.delivered, "no deliveries from the previous checks to look at")
    ids = [r.delivery_id for _, r in c.delivered]
    expect(len(set(ids)) == len(ids), "delivery ids repeat: %s" % ids)
    problems = []
    for kind, req in c.delivered:
        did = req.delivery_id
        line = c.wait_log(lambda ln, d=did: d in ln and re.search(r"\b204\b", ln), 0, 5)
        if line is None:
            anyline = c.wait_log(lambda ln, d=did: d in ln, 0, 0)
            problems.append("%s %s: no log line with the id and 204%s" % (
                kind, did, " (closest: %r)" % anyline if anyline else ""))
            continue
        if not re.search(r"\binfo\b", line, re.I):
            problems.append("%s: not at info level: %r" % (kind, line))
        if not _DURATION.search(line.split(did, 1)[1] + " " + line.split(did, 1)[0]):
            problems.append("%s: no time taken in %r" % (kind, line))
    expect(not problems, "; ".join(problems))


@test("callback_url placeholders {kind} {type} {to} {from} are filled in percent-encoded "
      "(path and query, as the server received them)", group="main")
def t_placeholders(c):
    t = tok()
    res = "a b+c~d._-!%s/ü" % t
    to = "bot@%s/%s" % (COMPONENT, res)
    c.send("<message to='%s' id='ph1-%s'><body>x</body></message>" % (to, t))
    c.send("<presence to='%s' id='ph2-%s'/>" % (COMPONENT, t))
    c.send("<iq type='set' to='bot@%s' id='ph3-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    problems = []
    for sid, kind, typ, dest in (("ph1-" + t, "message", "normal", to),
                                 ("ph2-" + t, "presence", "available", COMPONENT),
                                 ("ph3-" + t, "iq", "set", "bot@" + COMPONENT)):
        req = c.delivery(sid)
        x = req.stanza()
        if x is not None and x.get("to") != dest:
            c.note("Prosody delivered to=%r for %r" % (x.get("to"), dest))
            dest = x.get("to")
        want = "/hook/%s/%s/%s?from=%s&to=%s&fixed=a%%2Fb" % (kind, typ, pct(dest), pct(ALICE_FULL), pct(dest))
        if req.target != want:
            problems.append("%s: %s, expected %s" % (kind, req.target, want))
    expect(not problems, "; ".join(problems))


@test("200 messages sent at once, callback_max_inflight 8, the webhook takes 50 ms each: all "
      "delivered once, never more than 8 at once; afterwards no delivery in flight, no zombie, "
      "at most 8 (idle) delivery workers", group="main")
def t_concurrency(c):
    t = tok()
    n = 200
    prefix = "load-%s-" % t
    c.prefix_plan[prefix] = Reply(204, delay=0.05)
    c.quiesce()
    c.srv.clear()
    c.send("".join("<message to='load@%s' id='%s%d' type='chat'><body>%d</body></message>" % (
        COMPONENT, prefix, i, i) for i in range(n)))
    got = c.srv.wait_count(lambda r: (r.stanza_id or "").startswith(prefix), n, 90)
    ids = [r.stanza_id for r in got]
    missing = sorted(set("%s%d" % (prefix, i) for i in range(n)) - set(ids))
    expect(not missing, "%d of %d delivered; missing e.g. %s" % (n - len(missing), n, missing[:5]))
    c.quiesce()
    got = [r for r in c.srv.requests() if (r.stanza_id or "").startswith(prefix)]
    expect(len(got) == n, "%d deliveries for %d messages (duplicates)" % (len(got), n))
    peak = c.srv.max_inflight
    c.note("the webhook saw at most %d deliveries at once" % peak)
    expect(peak <= 8, "the webhook saw %d deliveries at once (callback_max_inflight 8)" % peak)
    ids = [r.delivery_id for r in got]
    expect(len(set(ids)) == n, "only %d distinct X-XMPP-Rest-Delivery ids for %d deliveries" % (
        len(set(ids)), n))
    pid = c.stack.bridge.pid
    # A worker let go may still be on its way out: give it the time to
    # exit and be reaped.  A zombie never leaves, so one that stays fails
    # here all the same.
    deadline = time.monotonic() + 10
    kids = c.stack.bridge_children()
    while [k for k in kids if k[1] == "Z"] and time.monotonic() < deadline:
        time.sleep(0.05)
        kids = c.stack.bridge_children()
    zombies = [p for p, s in kids if s == "Z"]
    expect(not zombies, "the bridge (pid %d) has zombies: %s" % (pid, zombies))
    expect(len(kids) <= 8, "the bridge (pid %d) has %d children (callback_max_inflight 8): %s" % (
        pid, len(kids), kids))
    expect(c.status()["webhook"]["in_flight"] == 0, "deliveries still in flight")


# With the spool off: a message is bounced at once, as an iq always is
# (test_spool.py covers the spooled case).
group("unreachable", lambda c: {"callback_url": "http://127.0.0.1:%d/hook" % c.closed[0],
                                "spool_max_bytes": 0})


@test("an unreachable URL (connection refused), spool_max_bytes 0: the iq and the "
      "message get wait/recipient-unavailable, and the bridge logs the failure", group="unreachable")
def t_unreachable(c):
    t = tok()
    off = c.log_offset()
    c.send("<iq type='get' to='bot@%s' id='ur1-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    c.send("<message to='bot@%s' id='ur2-%s' type='chat'><body>q</body></message>" % (COMPONENT, t))
    expect_error(c.iq_reply("ur1-" + t), "wait", "recipient-unavailable", None, "bot@" + COMPONENT)
    rec = c.gets(lambda r: r.kind == "message" and r.id == "ur2-" + t and r.type == "error")
    expect_error(rec, "wait", "recipient-unavailable", None, "bot@" + COMPONENT)
    line = c.wait_log(lambda ln: ": debug:" not in ln and "connected to" not in ln
                      and re.search(r"refused|unreachable|connect", ln, re.I)
                      and _DURATION.search(ln), off, 5)
    expect(line is not None, "no log line naming the failure and the time taken: %s" % (
        " | ".join(c.log_lines(off)[-6:])))
    expect(re.search(r"\binfo\b", line, re.I), "not at info level: %r" % line)


group("slow", lambda c: {"callback_url": c.srv.url("/slow"), "callback_timeout": 1})


@test("callback_timeout 1 and a webhook that takes 3 s: wait/remote-server-timeout; the log "
      "names the delivery and the timeout; no late reply, no child left", group="slow")
def t_slow(c):
    t = tok()
    sid = "sl-" + t
    off = c.log_offset()
    c.answer(sid, Reply.xmpp("<iq type='result'><late xmlns='%s'/></iq>" % NS_WH, delay=3))
    c.send("<iq type='get' to='bot@%s' id='%s'><query xmlns='%s'/></iq>" % (COMPONENT, sid, NS_WH))
    rec = c.iq_reply(sid, 10)
    expect_error(rec, "wait", "remote-server-timeout", None, "bot@" + COMPONENT)
    req = c.srv.wait_for(lambda r: r.stanza_id == sid, 5)
    did = req.delivery_id or "?"
    line = c.wait_log(lambda ln: did in ln, off, 5)
    expect(line is not None and re.search(r"time|deadline", line, re.I),
           "no log line with delivery %s and the timeout: %r" % (did, line))
    c.srv.wait_for(lambda r: r.stanza_id == sid, 10, answered=True)
    c.quiesce()
    n = len(c.alice.find_all(lambda r: r.id == sid))
    expect(n == 1, "%d replies to %s (a late one after the timeout?)" % (n, sid))


@test("SIGHUP raising callback_timeout from 1 to 6: an iq whose webhook takes 3 s, which "
      "timed out before, now gets the webhook's reply", group="slow")
def t_slow_reload(c):
    t = tok()
    off = c.log_offset()
    c.stack.write_bridge_conf({"callback_url": c.srv.url("/slow"), "callback_timeout": 6})
    os.kill(c.stack.bridge.pid, signal.SIGHUP)
    expect(c.wait_log(lambda ln: "reloaded" in ln, off, 10) is not None, "no reload in the log")
    sid = "slr-" + t
    c.answer(sid, Reply.xmpp("<iq type='result'><late xmlns='%s'/></iq>" % NS_WH, delay=3))
    c.send("<iq type='get' to='bot@%s' id='%s'><query xmlns='%s'/></iq>" % (COMPONENT, sid, NS_WH))
    rec = c.iq_reply(sid, 15)
    expect(rec.type == "result" and "late" in rec.xml, "after the reload: %s" % rec.xml)


def _https_conf(c):
    return {"callback_url": c.https.url("/secure/{kind}"), "callback_ca_file": c.ca.cert}


group("https", _https_conf)


@test("https with callback_ca_file (a test CA): delivered with the same headers, and the "
      "reply comes back", group="https")
def t_https(c):
    t = tok()
    sid = "tls-" + t
    c.answer(sid, Reply.xmpp("<iq type='result'><query xmlns='%s' ok='%s'/></iq>" % (NS_WH, t)))
    c.send("<iq type='get' to='bot@%s' id='%s'><query xmlns='%s'/></iq>" % (COMPONENT, sid, NS_WH))
    rec = c.iq_reply(sid)
    q = rec.child(NS_WH, "query")
    expect(rec.type == "result" and q is not None and q.get("ok") == t, "reply: %s" % rec.xml)
    req = c.delivery(sid, srv=c.https)
    check_headers(req)
    expect(req.target == "/secure/iq", "target %r" % req.target)


def _https_wrong_conf(c):
    return {"callback_url": c.https_wrong.url("/secure"), "callback_ca_file": c.ca.cert}


group("https-wrong-name", _https_wrong_conf)


@test("https to a server whose certificate names another host: nothing delivered, "
      "wait/recipient-unavailable, and the bridge log says why", group="https-wrong-name")
def t_https_wrong_name(c):
    t = tok()
    sid = "tlsw-" + t
    off = c.log_offset()
    c.send("<iq type='get' to='bot@%s' id='%s'><query xmlns='%s'/></iq>" % (COMPONENT, sid, NS_WH))
    rec = c.iq_reply(sid)
    expect_error(rec, "wait", "recipient-unavailable", None, "bot@" + COMPONENT)
    expect(not c.https_wrong.requests(), "the server got a request: %s" % c.https_wrong.requests())
    line = c.wait_log(lambda ln: ": debug:" not in ln
                      and re.search(r"certif|host ?name|mismatch|verif|x509", ln, re.I), off, 5)
    expect(line is not None, "no log line about the certificate or host name; log: %s" % (
        " | ".join(c.log_lines(off)[-6:])))


group("filter-1", lambda c: {"callback_url": c.srv.url("/f1"), "callback_stanzas": "message,iq",
                             "callback_addresses": "bare,host"})


@test("callback_stanzas message,iq: a presence is not delivered", group="filter-1")
def t_filter_stanzas(c):
    t = tok()
    c.send("<presence to='bot@%s' id='fp-%s'/>" % (COMPONENT, t))
    c.send("<message to='bot@%s' id='fm-%s'><body>x</body></message>" % (COMPONENT, t))
    c.delivery("fm-" + t)
    c.quiesce()
    expect(c.srv.find(lambda r: r.stanza_id == "fp-" + t) is None, "the presence was delivered")


@test("callback_addresses bare,host: to bot@, rest.localhost and rest.localhost/res "
      "delivered; to a full JID a message is dropped and an iq gets service-unavailable",
      group="filter-1")
def t_filter_addresses(c):
    t = tok()
    mark = c.mark()
    c.send("<message to='bot@%s' id='fa1-%s'><body>x</body></message>" % (COMPONENT, t))
    c.send("<message to='%s' id='fa2-%s'><body>x</body></message>" % (COMPONENT, t))
    c.send("<message to='%s/res' id='fa3-%s'><body>x</body></message>" % (COMPONENT, t))
    c.send("<message to='bot@%s/res' id='fa4-%s'><body>x</body></message>" % (COMPONENT, t))
    c.send("<iq type='get' to='bot@%s/res' id='fa5-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    c.send("<iq type='get' to='%s' id='fa6-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    problems = []
    for k in ("fa1-", "fa2-", "fa3-", "fa6-"):
        try:
            c.delivery(k + t)
        except TimeoutError:
            problems.append("%s not delivered" % k)
    try:
        expect_error(c.iq_reply("fa5-" + t), "cancel", "service-unavailable", None, "bot@%s/res" % COMPONENT)
    except (TestFailure, TimeoutError) as e:
        problems.append("fa5 (iq to a full JID): %s" % e)
    try:
        expect_empty_result(c.iq_reply("fa6-" + t), "fa6-" + t, COMPONENT)
    except (TestFailure, TimeoutError) as e:
        problems.append("fa6 (iq to the domain): %s" % e)
    c.quiesce()
    for k in ("fa4-", "fa5-"):
        if c.srv.find(lambda r: r.stanza_id == k + t):
            problems.append("%s (to a full JID) was delivered" % k)
    bounced = c.since(mark, lambda r: r.id == "fa4-" + t)
    if bounced:
        problems.append("the dropped message was answered: %s" % bounced[0].xml)
    expect(not problems, "; ".join(problems))


group("filter-2", lambda c: {"callback_url": c.srv.url("/f2"), "callback_stanzas": "presence",
                             "callback_addresses": "full"})


@test("callback_stanzas presence, callback_addresses full: a presence to a full JID is "
      "delivered, to bot@ or rest.localhost/res not; a message is dropped, an iq gets service-unavailable",
      group="filter-2")
def t_filter_2(c):
    t = tok()
    mark = c.mark()
    c.send("<presence to='bot@%s/res' id='fb1-%s'/>" % (COMPONENT, t))
    c.send("<presence to='bot@%s' id='fb2-%s'/>" % (COMPONENT, t))
    c.send("<presence to='%s/res' id='fb3-%s'/>" % (COMPONENT, t))
    c.send("<message to='bot@%s/res' id='fb4-%s'><body>x</body></message>" % (COMPONENT, t))
    c.send("<iq type='get' to='bot@%s/res' id='fb5-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    problems = []
    try:
        c.delivery("fb1-" + t)
    except TimeoutError:
        problems.append("the presence to a full JID was not delivered")
    try:
        expect_error(c.iq_reply("fb5-" + t), "cancel", "service-unavailable", None, "bot@%s/res" % COMPONENT)
    except (TestFailure, TimeoutError) as e:
        problems.append("fb5 (iq, not in callback_stanzas): %s" % e)
    c.quiesce()
    for k in ("fb2-", "fb3-", "fb4-", "fb5-"):
        if c.srv.find(lambda r: r.stanza_id == k + t):
            problems.append("%s was delivered" % k)
    answered = c.since(mark, lambda r: r.id == "fb4-" + t)
    if answered:
        problems.append("the dropped message was answered: %s" % answered[0].xml)
    expect(not problems, "; ".join(problems))


# Kept connections: one delivery worker (callback_max_inflight 1), so that
# every delivery goes over the same worker and the connections it keeps.
def _ka_conf(c):
    return {"callback_url": c.srv.url("/ka"), "callback_max_inflight": 1}


group("keepalive", _ka_conf)


def _send_messages(c, prefix, n):
    c.send("".join("<message to='ka@%s' id='%s%d' type='chat'><body>%d</body></message>" % (
        COMPONENT, prefix, i, i) for i in range(n)))
    got = c.srv.wait_count(lambda r: (r.stanza_id or "").startswith(prefix), n, 30)
    ids = sorted(r.stanza_id for r in got)
    expect(len(ids) >= n, "%d of %d delivered: %s" % (len(ids), n, ids))
    c.quiesce()
    got = [r for r in c.srv.requests() if (r.stanza_id or "").startswith(prefix)]
    expect(len(got) == n, "%d deliveries for %d messages (lost or repeated): %s" % (
        len(got), n, sorted(r.stanza_id for r in got)))
    return got


@test("six deliveries in a row go over one kept connection: the webhook sees fewer "
      "connections than requests, and no request asks it to close", group="keepalive")
def t_ka_reuse(c):
    got = _send_messages(c, "ka1-%s-" % tok(), 6)
    conns = {r.conn for r in got}
    expect(len(conns) < len(got), "%d connections for %d requests" % (len(conns), len(got)))
    c.note("6 deliveries over %d connection(s)" % len(conns))
    asked = [r.header("Connection") for r in got if r.header("Connection")]
    expect(not asked, "requests carry Connection: %s" % asked)


@test("a webhook that closes the connection after each answer (no Connection: close): "
      "every delivery still arrives, once, each on a new connection", group="keepalive")
def t_ka_dropped(c):
    prefix = "ka2-%s-" % tok()
    c.prefix_plan[prefix] = Reply(204, drop=True)
    got = _send_messages(c, prefix, 5)
    conns = {r.conn for r in got}
    expect(len(conns) == 5, "%d connections for 5 requests" % len(conns))
    expect(len({r.delivery_id for r in got}) == 5, "repeated delivery ids")


@test("a webhook that answers Connection: close each time: every delivery arrives "
      "once, each on its own connection", group="keepalive")
def t_ka_close(c):
    prefix = "ka3-%s-" % tok()
    c.prefix_plan[prefix] = Reply(204, headers={"Connection": "close"})
    got = _send_messages(c, prefix, 5)
    conns = {r.conn for r in got}
    expect(len(conns) == 5, "%d connections for 5 requests" % len(conns))


@test("kill -9 of the delivery worker in the middle of an iq's delivery: the iq gets "
      "wait/recipient-unavailable, the log says the process ended without a result, and the next "
      "deliveries work (a new worker)", group="keepalive")
def t_ka_worker_killed(c):
    t = tok()
    sid = "ka4-" + t
    c.quiesce()
    off = c.log_offset()
    c.answer(sid, Reply.xmpp("<iq type='result'/>", delay=5))
    c.send("<iq type='get' to='bot@%s' id='%s'><query xmlns='%s'/></iq>" % (COMPONENT, sid, NS_WH))
    c.srv.wait_for(lambda r: r.stanza_id == sid, 10)
    pids = c.workers()
    expect(len(pids) == 1, "expected one delivery worker, found %s" % pids)
    os.kill(pids[0], signal.SIGKILL)
    expect_error(c.iq_reply(sid, 10), "wait", "recipient-unavailable", None, "bot@" + COMPONENT)
    line = c.wait_log(lambda ln: "ended without a result" in ln, off, 5)
    expect(line is not None, "no log line saying the worker ended: %s" % (
        " | ".join(c.log_lines(off)[-6:])))
    sid2 = "ka5-" + t
    c.answer(sid2, Reply.xmpp("<iq type='result'><after xmlns='%s'/></iq>" % NS_WH))
    c.send("<iq type='get' to='bot@%s' id='%s'><query xmlns='%s'/></iq>" % (COMPONENT, sid2, NS_WH))
    rec = c.iq_reply(sid2, 10)
    expect(rec.type == "result", "the next iq: %s" % rec.xml)
    got = _send_messages(c, "ka6-%s-" % t, 3)
    expect(len(got) == 3, "later messages")
    c.quiesce()
    pids2 = c.workers()
    expect(pids2 and pids[0] not in pids2, "workers now %s (killed %d)" % (pids2, pids[0]))


@test("SIGHUP with a new callback_secret: the next delivery is signed with it, over the "
      "connection the worker kept", group="keepalive")
def t_ka_reload_secret(c):
    import hashlib
    import hmac
    t = tok()
    c.send("<message to='bot@%s' id='ka7-%s' type='chat'><body>before</body></message>" % (COMPONENT, t))
    before = c.delivery("ka7-" + t)
    expect(before.header("X-XMPP-Rest-Signature") is None, "signed before the reload")
    secret = "reloaded-secret-" + t
    off = c.log_offset()
    conf = _ka_conf(c)
    conf["callback_secret"] = secret
    c.stack.write_bridge_conf(conf)
    os.kill(c.stack.bridge.pid, signal.SIGHUP)
    line = c.wait_log(lambda ln: "reloaded" in ln, off, 10)
    expect(line is not None, "no reload in the log")
    c.send("<message to='bot@%s' id='ka8-%s' type='chat'><body>after</body></message>" % (COMPONENT, t))
    after = c.delivery("ka8-" + t)
    ts = after.header("X-XMPP-Rest-Timestamp") or ""
    want = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + after.body,
                                hashlib.sha256).hexdigest()
    expect(after.header("X-XMPP-Rest-Signature") == want, "signature %r, expected %r" % (
        after.header("X-XMPP-Rest-Signature"), want))
    expect(after.conn == before.conn, "a new connection after the reload (%d, then %d)" % (
        before.conn, after.conn))


@test("SIGHUP raising callback_max_inflight from 1 to 3 while one delivery takes 6 s and two "
      "wait behind it: the two start at once, before the first is answered", group="keepalive")
def t_ka_reload_inflight(c):
    t = tok()
    c.quiesce()
    ids = ["kai%d-%s" % (i, t) for i in range(3)]
    c.answer(ids[0], Reply(204, delay=6))
    c.send("".join("<message to='ka@%s' id='%s' type='chat'><body>%s</body></message>" % (
        COMPONENT, sid, sid) for sid in ids))
    first = c.srv.wait_for(lambda r: r.stanza_id == ids[0], 10)
    off = c.log_offset()
    conf = _ka_conf(c)
    conf["callback_max_inflight"] = 3
    c.stack.write_bridge_conf(conf)
    os.kill(c.stack.bridge.pid, signal.SIGHUP)
    expect(c.wait_log(lambda ln: "reloaded" in ln, off, 10) is not None, "no reload in the log")
    for sid in ids[1:]:
        c.srv.wait_for(lambda r, sid=sid: r.stanza_id == sid, 10)
    expect(first.answered is None, "the queued deliveries waited for the first one's answer")
    c.srv.wait_for(lambda r: r.stanza_id == ids[0], 10, answered=True)
    c.quiesce()


def run_suite(runner, stack, alice, bob, only=None):
    """Runs the checks (those whose description contains one of only, if
    given); restores the stack's bridge configuration at the end."""
    return SUITE.run_suite(runner, stack, alice, bob, only)
