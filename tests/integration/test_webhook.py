"""The webhook suite: stanzas sent to the bridge's domain are POSTed to
callback_url, and the webhook's answer goes back over XMPP.

Run once per run of run.py (after the HTTP suites), against the real stack:
alice@localhost/test (a real slixmpp client) sends stanzas to
rest.localhost and JIDs under it through Prosody; the bridge delivers them
to a real HTTP(S) server of ours on 127.0.0.1 (webhook_server.py), whose
answers are set per stanza id.  The bridge is restarted with the callback
settings of each group of checks (Stack.restart_bridge) and with the stack's
own configuration at the end, so the HTTP suites' configuration is unchanged
afterwards.

"No reply" and "not delivered" are decided without sleeping: quiesce()
sends an iq that the bridge must answer (and the webhook answers at once),
waits until the bridge has no delivery in flight (its status says so; its
delivery workers stay for a while, idle) and no zombie child, and sends a
second one; whatever the bridge sent before has reached alice by then (one
component stream, one c2s stream, in order).
"""

import os
import re
import shutil
import signal
import time
import urllib.parse

from harness import (ALICE_FULL, COMPONENT, CT, Ctx, Suite, TestFailure, expect, fail_with, local,
                     ns_of, one_line, post, restore_bridge, stanza_error, tok)
from webhook_server import Reply, TestCA, WebhookServer, closed_port, SENTINEL_NS
from xmpp_client import NS_RECEIPTS, NS_STANZAS

NS_WH = "urn:xmpp-rest:test:webhook"
NS_CLIENT = "jabber:client"
NS_COMPONENT = "jabber:component:accept"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ECHO_BOT = os.path.join(REPO, "examples", "echo-bot.cgi")

# HTTP status -> (error type, condition) of the error reply
STATUS_ERRORS = {}
for _codes, _t, _c in (
        ((400, 411, 416, 422), "modify", "bad-request"),
        ((401, 511), "auth", "not-authorized"),
        ((402,), "auth", "payment-required"),
        ((403, 451), "auth", "forbidden"),
        ((404,), "cancel", "item-not-found"),
        ((405,), "cancel", "not-allowed"),
        ((406,), "modify", "not-acceptable"),
        ((407,), "auth", "registration-required"),
        ((408, 502, 504), "wait", "remote-server-timeout"),
        ((409, 412), "cancel", "conflict"),
        ((410,), "cancel", "gone"),
        ((413, 414, 431), "modify", "resource-constraint"),
        ((415, 501), "cancel", "feature-not-implemented"),
        ((423, 429, 507), "wait", "resource-constraint"),
        ((500,), "wait", "internal-server-error"),
        ((503,), "cancel", "service-unavailable")):
    for _code in _codes:
        STATUS_ERRORS[_code] = (_t, _c)
# any other 4xx/5xx: cancel/undefined-condition
OTHER_STATUSES = (417, 418, 421, 424, 425, 426, 428, 444, 499, 505, 506, 508, 510, 599)

# the main configuration's URL: every placeholder, in the path and the query
MAIN_PATH = "/hook/{kind}/{type}/{to}?from={from}&to={to}&fixed=a%2Fb"
# a duration in a log line: "12 ms", "0.012s", "1.5 s", "12ms"
_DURATION = re.compile(r"\d+(\.\d+)?\s?(ms|s|sec|secs|seconds|milliseconds|us|µs)\b", re.I)


def pct(s):
    """RFC 3986 percent-encoding: unreserved kept, the rest %XX uppercase."""
    return urllib.parse.quote(s, safe="")


def children(el):
    return [ch for ch in el]


class WebhookCtx(Ctx):
    """The shared Ctx, with the webhook servers and the answers planned for
    each stanza."""

    def __init__(self, stack, alice, bob, runner):
        Ctx.__init__(self, stack, alice, bob, label=SUITE.name, runner=runner)
        self.srv = None          # the main http webhook
        self.plan = {}           # stanza id -> Reply (or a function req -> Reply)
        self.prefix_plan = {}    # stanza id prefix -> Reply
        self.delivered = []      # requests whose log lines are checked
        self.ca = None
        self.https = None
        self.https_wrong = None
        self.closed = None
        self.echo_runs = None    # the echo bot's run count file

    # ---- the webhook's answers -------------------------------------------------

    def dispatch(self, req):
        sid = req.stanza_id or ""
        r = self.plan.get(sid)
        if r is None:
            for p, rr in self.prefix_plan.items():
                if sid.startswith(p):
                    r = rr
                    break
        if callable(r):
            r = r(req)
        return r          # None: 204

    def answer(self, sid, reply):
        self.plan[sid] = reply
        return sid

    # ---- XMPP side ---------------------------------------------------------------

    def send(self, xml):
        self.alice.send_raw(xml)

    def mark(self):
        recs = self.alice.records()
        return recs[-1].seq if recs else 0

    def since(self, mark, pred=lambda r: True):
        return [r for r in self.alice.records() if r.seq > mark and pred(r)]

    def gets(self, pred, timeout=10):
        return self.alice.wait_for(pred, timeout)

    def iq_reply(self, sid, timeout=10):
        return self.alice.wait_for(lambda r: r.kind == "iq" and r.id == sid
                                   and r.type in ("result", "error"), timeout)

    def delivery(self, sid, timeout=10, srv=None):
        """The request that delivered the stanza with id sid (answered)."""
        return (srv or self.srv).wait_for(lambda r: r.stanza_id == sid, timeout, answered=True)

    def sentinel(self, timeout=15):
        sid = "sentinel-" + tok()
        self.send("<iq type='get' to='sentinel@%s' id='%s'><s xmlns='%s'/></iq>" % (
            COMPONENT, sid, SENTINEL_NS))
        return self.iq_reply(sid, timeout)

    def no_deliveries(self, timeout=15):
        """Waits until no delivery is in flight and no child is a zombie
        (the idle delivery workers may stay)."""
        deadline = time.monotonic() + timeout
        while True:
            busy = self.status()["webhook"]["in_flight"]
            zombies = [p for p, st in self.stack.bridge_children() if st == "Z"]
            if busy == 0 and not zombies:
                return
            if time.monotonic() > deadline:
                raise TestFailure("after %gs the bridge still has %d deliveries in flight, "
                                  "zombies %s" % (timeout, busy, zombies))
            time.sleep(0.05)

    def workers(self):
        """The pids of the bridge's live children (its delivery workers)."""
        return [p for p, st in self.stack.bridge_children() if st != "Z"]

    def quiesce(self):
        """Everything sent before has been handled by the bridge, every
        delivery it started has ended and its replies have reached alice."""
        self.sentinel()
        self.no_deliveries()
        self.sentinel()


# ---- checks shared by the tests ------------------------------------------------------

def check_headers(req, what=""):
    expect(req.method == "POST", "%smethod %s" % (what, req.method))
    ct = (req.header("Content-Type") or "").split(";")[0].strip().lower()
    expect(ct == CT, "%sContent-Type is %r" % (what, req.header("Content-Type")))
    cl = req.header("Content-Length")
    expect(cl is not None and cl.strip().isdigit() and int(cl) == len(req.body),
           "%sContent-Length %r for a body of %d bytes (Transfer-Encoding %r)" % (
               what, cl, len(req.body), req.header("Transfer-Encoding")))
    ua = req.header("User-Agent") or ""
    expect(ua.startswith("xmpp-rest/"), "%sUser-Agent is %r" % (what, ua))
    did = req.delivery_id
    expect(did and did.strip(), "%sno X-XMPP-Rest-Delivery header (headers: %s)" % (
        what, req.header_list))


def parse_delivered(req):
    """The delivered stanza; it must not be in the component namespace."""
    expect(NS_COMPONENT not in req.text,
           "the component namespace leaks into the delivered body: %s" % one_line(req.text, 400))
    x = req.stanza()
    expect(x is not None, "the body is not XML: %s" % one_line(req.text, 300))
    expect(ns_of(x.tag) in ("", NS_CLIENT), "the stanza is in namespace %r: %s" % (
        ns_of(x.tag), one_line(req.text, 300)))
    return x


def expect_attrs(x, text, **want):
    for k, v in want.items():
        k = {"frm": "from", "lang": XML_LANG}.get(k, k)
        got = x.get(k)
        expect(got == v, "%s is %r, expected %r: %s" % (
            "xml:lang" if k == XML_LANG else k, got, v, one_line(text, 400)))


def expect_empty_result(rec, sid, frm):
    expect(rec.kind == "iq" and rec.type == "result", "not an iq result: %s" % rec.xml)
    expect(rec.id == sid, "id %r, expected %r" % (rec.id, sid))
    expect(rec.frm == frm, "from %r, expected %r: %s" % (rec.frm, frm, rec.xml))
    expect(rec.to == ALICE_FULL, "to %r: %s" % (rec.to, rec.xml))
    expect(not children(rec.element), "the result is not empty: %s" % rec.xml)


def expect_error(rec, etype, cond, text=None, frm=None, kind=None):
    if kind:
        expect(rec.kind == kind, "a %s, expected a %s: %s" % (rec.kind, kind, rec.xml))
    expect(rec.type == "error", "type %r, expected error: %s" % (rec.type, rec.xml))
    e = stanza_error(rec.element)
    expect(e is not None, "no <error/>: %s" % rec.xml)
    expect(e[:2] == (etype, cond), "error %s/%s, expected %s/%s: %s" % (
        e[0], e[1], etype, cond, rec.xml))
    if text is not None:
        expect(e[2] == text, "error text %r, expected %r: %s" % (e[2], text, rec.xml))
    if frm is not None:
        expect(rec.frm == frm, "from %r, expected %r: %s" % (rec.frm, frm, rec.xml))
    expect(rec.to == ALICE_FULL, "to %r: %s" % (rec.to, rec.xml))


def expect_nothing_from(c, mark, pred, what):
    got = c.since(mark, pred)
    expect(not got, "%s, but alice received: %s" % (what, " | ".join(r.xml[:300] for r in got)))


# ---- the tests -----------------------------------------------------------------------------------

SUITE = Suite("webhook")
test = SUITE.test
GROUPS = []      # [(name, conf function(ctx) -> dict or None)], in the order they run


def group(name, conf):
    """A group of checks run with the bridge restarted on conf(ctx) (None:
    as it is)."""
    GROUPS.append((name, conf))


def _main_conf(c):
    return {"callback_url": c.srv.url(MAIN_PATH), "callback_max_inflight": 8}


group("main", _main_conf)


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


@test("answers 202 and 204: no reply to a message or a presence; an iq get and an iq set "
      "get an empty result from the JID they were sent to", group="main")
def t_202_204(c):
    t = tok()
    mark = c.mark()
    c.answer("m-" + t, Reply(202, "accepted", ctype="text/plain"))
    c.answer("p-" + t, Reply(204))
    c.answer("g-" + t, Reply(202))
    c.answer("s-" + t, Reply(204))
    c.send("<message to='bot@%s' id='m-%s' type='chat'><body>%s</body></message>" % (COMPONENT, t, t))
    c.send("<presence to='bot@%s' id='p-%s'><status>%s</status></presence>" % (COMPONENT, t, t))
    c.send("<iq type='get' to='bot@%s/res' id='g-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    c.send("<iq type='set' to='%s' id='s-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    for k in ("m-", "p-"):
        c.delivery(k + t)
    expect_empty_result(c.iq_reply("g-" + t), "g-" + t, "bot@%s/res" % COMPONENT)
    expect_empty_result(c.iq_reply("s-" + t), "s-" + t, COMPONENT)
    c.quiesce()
    expect_nothing_from(c, mark, lambda r: r.kind in ("message", "presence") and (
        (r.frm or "").endswith(COMPONENT) or t in r.xml), "202/204 must not be answered")


@test("200 with an application/xmpp+xml message: sent to the sender, from the addressee, "
      "with the original's type", group="main")
def t_200_message(c):
    t = tok()
    sid = c.answer("r-" + t, Reply.xmpp("<message><body>reply %s</body></message>" % t))
    c.send("<message to='bot@%s/r1' id='%s' type='chat'><body>q</body></message>" % (COMPONENT, sid))
    rec = c.gets(lambda r: r.kind == "message" and r.body == "reply " + t)
    expect(rec.frm == "bot@%s/r1" % COMPONENT, "from %r: %s" % (rec.frm, rec.xml))
    expect(rec.to == ALICE_FULL, "to %r" % rec.to)
    expect(rec.type == "chat", "type %r, the original's was chat: %s" % (rec.type, rec.xml))


@test("a message reply keeps the original's <thread>; a type the reply names is kept", group="main")
def t_thread(c):
    t = tok()
    sid = c.answer("th-" + t, Reply.xmpp("<message><body>thr %s</body></message>" % t))
    sid2 = c.answer("th2-" + t, Reply.xmpp("<message type='headline'><body>thr2 %s</body></message>" % t))
    c.send("<message to='bot@%s' id='%s' type='chat'><body>q</body><thread>T-%s</thread></message>" % (
        COMPONENT, sid, t))
    c.send("<message to='bot@%s' id='%s' type='normal'><body>q</body><thread parent='P-%s'>T2-%s</thread>"
           "</message>" % (COMPONENT, sid2, t, t))
    rec = c.gets(lambda r: r.kind == "message" and r.body == "thr " + t)
    th = [ch for ch in rec.element if local(ch.tag) == "thread"]
    expect(len(th) == 1 and th[0].text == "T-" + t, "thread: %s" % rec.xml)
    expect(rec.type == "chat", "type %r: %s" % (rec.type, rec.xml))
    rec = c.gets(lambda r: r.kind == "message" and r.body == "thr2 " + t)
    th = [ch for ch in rec.element if local(ch.tag) == "thread"]
    expect(len(th) == 1 and th[0].text == "T2-" + t, "thread: %s" % rec.xml)
    if th[0].get("parent") != "P-" + t:
        c.note("the thread's parent attribute was not kept: %s" % rec.xml)
    expect(rec.type == "headline", "the reply named type headline, got %r: %s" % (rec.type, rec.xml))


@test("a reply's from under rest.localhost is kept; a from elsewhere is replaced by the addressee",
      group="main")
def t_reply_from(c):
    t = tok()
    c.answer("f1-" + t, Reply.xmpp("<message from='other@%s/x'><body>f1 %s</body></message>" % (COMPONENT, t)))
    c.answer("f2-" + t, Reply.xmpp("<message from='mallory@localhost/x'><body>f2 %s</body></message>" % t))
    c.answer("f3-" + t, Reply.xmpp("<message from='%s'><body>f3 %s</body></message>" % (COMPONENT, t)))
    for k in ("f1-", "f2-", "f3-"):
        c.send("<message to='bot@%s' id='%s%s' type='chat'><body>q</body></message>" % (COMPONENT, k, t))
    rec = c.gets(lambda r: r.kind == "message" and r.body == "f1 " + t)
    expect(rec.frm == "other@%s/x" % COMPONENT, "f1: from %r" % rec.frm)
    rec = c.gets(lambda r: r.kind == "message" and r.body == "f3 " + t)
    expect(rec.frm == COMPONENT, "f3: from %r" % rec.frm)
    c.quiesce()
    rec = c.alice.find(lambda r: r.kind == "message" and r.body == "f2 " + t)
    expect(rec is not None, "the reply with from='mallory@localhost/x' never arrived")
    expect(rec.frm == "bot@" + COMPONENT, "f2: from %r, expected the addressee" % rec.frm)


@test("200 with an iq: sent with the original id and type result, whatever it says; "
      "an iq with <error/> goes as type error", group="main")
def t_200_iq(c):
    t = tok()
    c.answer("q1-" + t, Reply.xmpp("<iq type='set' id='other-id'><query xmlns='%s'><item n='%s'/></query></iq>"
                                   % (NS_WH, t)))
    c.answer("q2-" + t, Reply.xmpp("<iq><error type='cancel'><item-not-found xmlns='%s'/>"
                                   "<text xmlns='%s'>none %s</text></error></iq>" % (NS_STANZAS, NS_STANZAS, t)))
    c.send("<iq type='get' to='bot@%s' id='q1-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    c.send("<iq type='set' to='bot@%s/r' id='q2-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    rec = c.iq_reply("q1-" + t)
    expect(rec.type == "result" and rec.frm == "bot@" + COMPONENT and rec.to == ALICE_FULL,
           "q1: %s" % rec.xml)
    q = rec.child(NS_WH, "query")
    expect(q is not None and q.find("{%s}item" % NS_WH) is not None
           and q.find("{%s}item" % NS_WH).get("n") == t, "q1 payload: %s" % rec.xml)
    expect_error(c.iq_reply("q2-" + t), "cancel", "item-not-found", "none " + t, "bot@%s/r" % COMPONENT)
    rec = c.alice.find(lambda r: r.id == "other-id")
    expect(rec is None, "a stanza kept the reply's own id: %s" % (rec.xml if rec else ""))


@test("200 with a presence: sent to the sender from the addressee", group="main")
def t_200_presence(c):
    t = tok()
    c.answer("pr-" + t, Reply.xmpp("<presence><status>back %s</status></presence>" % t))
    c.send("<presence to='bot@%s' id='pr-%s'/>" % (COMPONENT, t))
    rec = c.gets(lambda r: r.kind == "presence" and ("back " + t) in r.xml)
    expect(rec.frm == "bot@" + COMPONENT and rec.to == ALICE_FULL, "presence: %s" % rec.xml)
    expect(rec.type in (None, "available"), "type %r" % rec.type)


@test("2xx with another body (text/plain, a stanza of another kind, not XML): an iq gets an "
      "empty result, a message or presence no reply", group="main")
def t_2xx_other(c):
    t = tok()
    mark = c.mark()
    c.answer("o1-" + t, Reply(200, "ok %s" % t, ctype="text/plain"))
    c.answer("o2-" + t, Reply.xmpp("<message><body>wrong kind %s</body></message>" % t))
    c.answer("o3-" + t, Reply.xmpp("<iq type='result'><broken %s" % t, status=201))
    c.answer("o4-" + t, Reply(200, "ok %s" % t, ctype="text/plain"))
    c.answer("o5-" + t, Reply.xmpp("<iq type='result'><q xmlns='%s'>%s</q></iq>" % (NS_WH, t)))
    c.answer("o6-" + t, Reply(200, "<presence><status>%s</status></presence>" % t, ctype="text/xml"))
    for k in ("o1-", "o2-", "o3-"):
        c.send("<iq type='get' to='bot@%s' id='%s%s'><query xmlns='%s'/></iq>" % (COMPONENT, k, t, NS_WH))
    c.send("<message to='bot@%s' id='o4-%s' type='chat'><body>q</body></message>" % (COMPONENT, t))
    c.send("<message to='bot@%s' id='o5-%s' type='chat'><body>q</body></message>" % (COMPONENT, t))
    c.send("<presence to='bot@%s' id='o6-%s'/>" % (COMPONENT, t))
    problems = []
    for k in ("o1-", "o2-", "o3-"):
        try:
            expect_empty_result(c.iq_reply(k + t), k + t, "bot@" + COMPONENT)
        except (TestFailure, TimeoutError) as e:
            problems.append("%s: %s" % (k, e))
    c.quiesce()
    got = c.since(mark, lambda r: r.kind in ("message", "presence") and t in r.xml)
    if got:
        problems.append("message/presence replies: %s" % " | ".join(r.xml[:200] for r in got))
    expect(not problems, "; ".join(problems))


def _status_reply(code, reason=None):
    return Reply(code, "status %d" % code, ctype="text/plain", reason=reason)


def _status_loop(c, codes, expected):
    t = tok()
    for code in codes:
        c.answer("st%d-%s" % (code, t), _status_reply(code))
    c.send("".join("<iq type='get' to='bot@%s' id='st%d-%s'><query xmlns='%s'/></iq>" % (
        COMPONENT, code, t, NS_WH) for code in codes))
    bad = []
    for code in codes:
        sid = "st%d-%s" % (code, t)
        want = expected(code)
        reason = _status_reply(code).reason
        try:
            rec = c.iq_reply(sid, 20)
            expect_error(rec, want[0], want[1], "%d %s" % (code, reason), "bot@" + COMPONENT)
            expect(rec.id == sid, "id %r" % rec.id)
        except (TestFailure, TimeoutError) as e:
            bad.append("%d: %s" % (code, e))
    expect(not bad, "%d of %d wrong: %s" % (len(bad), len(codes), " || ".join(bad)))


@test("every 4xx/5xx of the table: an iq error reply with its type and condition and "
      "'STATUS REASON' as text", group="main")
def t_status_table(c):
    _status_loop(c, sorted(STATUS_ERRORS), lambda code: STATUS_ERRORS[code])


@test("any other 4xx/5xx (417, 418, 421, 444, 499, 505, 599, ...): cancel/undefined-condition",
      group="main")
def t_status_other(c):
    _status_loop(c, OTHER_STATUSES, lambda code: ("cancel", "undefined-condition"))


@test("the error text is the status line's own reason phrase ('503 Back Later, Sorry')", group="main")
def t_status_reason(c):
    t = tok()
    sid = c.answer("rs-" + t, Reply(503, reason="Back Later, Sorry"))
    c.send("<iq type='get' to='bot@%s' id='%s'><query xmlns='%s'/></iq>" % (COMPONENT, sid, NS_WH))
    expect_error(c.iq_reply(sid), "cancel", "service-unavailable", "503 Back Later, Sorry")


@test("a 404 to a message and a 500 to a presence: an error stanza of that kind, original id, "
      "from the addressee", group="main")
def t_error_message_presence(c):
    t = tok()
    c.answer("em-" + t, _status_reply(404))
    c.answer("ep-" + t, _status_reply(500))
    c.send("<message to='bot@%s/x' id='em-%s' type='chat'><body>q</body></message>" % (COMPONENT, t))
    c.send("<presence to='bot@%s' id='ep-%s'/>" % (COMPONENT, t))
    rec = c.gets(lambda r: r.kind == "message" and r.id == "em-" + t and r.type == "error")
    expect_error(rec, "cancel", "item-not-found", "404 Not Found", "bot@%s/x" % COMPONENT, "message")
    rec = c.gets(lambda r: r.kind == "presence" and r.id == "ep-" + t and r.type == "error")
    expect_error(rec, "wait", "internal-server-error", "500 Internal Server Error", "bot@" + COMPONENT,
                 "presence")


@test("4xx with a stanza of the same kind (application/xmpp+xml): that stanza is the reply, "
      "not the status's error", group="main")
def t_4xx_stanza(c):
    t = tok()
    mark = c.mark()
    c.answer("x1-" + t, Reply.xmpp("<iq type='error'><error type='auth'><not-authorized xmlns='%s'/>"
                                   "<text xmlns='%s'>custom %s</text></error></iq>" % (NS_STANZAS, NS_STANZAS, t),
                                   status=403))
    c.answer("x2-" + t, Reply.xmpp("<message><body>nope %s</body></message>" % t, status=400))
    c.send("<iq type='get' to='bot@%s' id='x1-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    c.send("<message to='bot@%s' id='x2-%s' type='chat'><body>q</body></message>" % (COMPONENT, t))
    expect_error(c.iq_reply("x1-" + t), "auth", "not-authorized", "custom " + t, "bot@" + COMPONENT)
    rec = c.gets(lambda r: r.kind == "message" and r.body == "nope " + t)
    expect(rec.frm == "bot@" + COMPONENT and stanza_error(rec.element) is None,
           "the message reply: %s" % rec.xml)
    expect(rec.type == "chat", "type %r (the reply names none, the original was chat)" % rec.type)
    c.quiesce()
    expect_nothing_from(c, mark, lambda r: r.kind == "message" and r.type == "error" and r.id == "x2-" + t,
                        "the stanza replaces the error")


@test("stanzas of type error and result are delivered but never answered", group="main")
def t_error_result_unanswered(c):
    t = tok()
    mark = c.mark()
    err = "<error type='cancel'><item-not-found xmlns='%s'/></error>" % NS_STANZAS
    c.answer("u1-" + t, _status_reply(400))      # a 5xx would spool it
    c.answer("u2-" + t, Reply.xmpp("<message><body>u2 %s</body></message>" % t))
    c.answer("u3-" + t, Reply.xmpp("<iq><q xmlns='%s'>%s</q></iq>" % (NS_WH, t)))
    c.answer("u4-" + t, _status_reply(503))
    c.answer("u5-" + t, Reply(204))
    c.send("<message to='bot@%s' id='u1-%s' type='error'>%s</message>" % (COMPONENT, t, err))
    c.send("<message to='bot@%s' id='u2-%s' type='error'>%s</message>" % (COMPONENT, t, err))
    c.send("<iq to='bot@%s' id='u3-%s' type='result'/>" % (COMPONENT, t))
    c.send("<iq to='bot@%s' id='u4-%s' type='error'><q xmlns='%s'/>%s</iq>" % (COMPONENT, t, NS_WH, err))
    c.send("<iq to='bot@%s' id='u5-%s' type='result'><q xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    missing = []
    for k in ("u1-", "u2-", "u3-", "u4-", "u5-"):
        try:
            c.delivery(k + t)
        except TimeoutError:
            missing.append(k + t)
    c.quiesce()
    expect_nothing_from(c, mark, lambda r: t in r.xml, "error/result stanzas must not be answered")
    expect(not missing, "not delivered: %s" % missing)


@test("receipts: an accepted message with <request/> is also answered <received id=ORIGINAL/>; "
      "a refused one gets no receipt", group="main")
def t_receipts(c):
    t = tok()
    mark = c.mark()
    req = "<request xmlns='%s'/>" % NS_RECEIPTS
    c.answer("rc1-" + t, Reply(204))
    c.answer("rc2-" + t, Reply.xmpp("<message><body>rc2 %s</body></message>" % t))
    c.answer("rc3-" + t, _status_reply(400))     # a 5xx would spool it
    for k in ("rc1-", "rc2-", "rc3-"):
        c.send("<message to='bot@%s' id='%s%s' type='chat'><body>q</body>%s</message>" % (COMPONENT, k, t, req))

    def receipt_for(sid):
        def p(r):
            if r.kind != "message":
                return False
            rc = r.child(NS_RECEIPTS, "received")
            return rc is not None and rc.get("id") == sid
        return p
    rec = c.gets(receipt_for("rc1-" + t))
    expect(rec.frm == "bot@" + COMPONENT and rec.to == ALICE_FULL, "receipt rc1: %s" % rec.xml)
    expect(rec.type != "error", "receipt rc1: %s" % rec.xml)
    rec = c.gets(receipt_for("rc2-" + t))
    expect(rec.frm == "bot@" + COMPONENT, "receipt rc2: %s" % rec.xml)
    c.gets(lambda r: r.kind == "message" and r.body == "rc2 " + t)
    c.gets(lambda r: r.kind == "message" and r.id == "rc3-" + t and r.type == "error")
    c.quiesce()
    expect_nothing_from(c, mark, receipt_for("rc3-" + t), "a 400 must not be acknowledged")
    n = len(c.since(mark, receipt_for("rc1-" + t)))
    expect(n == 1, "%d receipts for rc1" % n)


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


def _echo_conf(c):
    dst = c.stack.path("www", "cgi", "echo-bot.cgi")
    shutil.copyfile(ECHO_BOT, dst)
    os.chmod(dst, 0o755)
    # The README's bot, run by a wrapper that keeps what each run got.
    c.echo_runs = c.stack.path("www", "echo-bot.runs")
    counted = c.stack.path("www", "cgi", "echo-bot-counted.cgi")
    with open(counted, "w") as f:
        f.write("#!/bin/sh\nstanza=$(cat)\nprintf '%%s\\n' \"$stanza\" | tr '\\n' ' ' >>'%s'\n"
                "echo >>'%s'\nprintf '%%s\\n' \"$stanza\" | exec '%s'\n" % (c.echo_runs, c.echo_runs, dst))
    os.chmod(counted, 0o755)
    return {"callback_url": "http://127.0.0.1:%d/cgi/echo-bot-counted.cgi" % c.stack.http_port}


def echo_runs(c, word):
    """How many times the echo bot got a stanza holding word."""
    try:
        with open(c.echo_runs) as f:
            return sum(1 for ln in f if word in ln)
    except OSError:
        return 0


group("echo-bot", _echo_conf)


SECRET = "a-test-secret-of-32-characters!!"
CHECK_SIGNATURE = os.path.join(REPO, "examples", "check-signature.sh")

group("signed", lambda c: {"callback_url": c.srv.url(MAIN_PATH), "callback_secret": SECRET})


def _run_check(req, secret, body=None, signature=None):
    import subprocess
    env = {"PATH": "/usr/bin:/bin", "XMPP_REST_SECRET": secret,
           "HTTP_X_XMPP_REST_TIMESTAMP": req.header("X-XMPP-Rest-Timestamp") or "",
           "HTTP_X_XMPP_REST_SIGNATURE": signature or req.header("X-XMPP-Rest-Signature") or ""}
    return subprocess.run(["sh", CHECK_SIGNATURE], env=env,
                          input=body if body is not None else req.body, timeout=10).returncode


@test("callback_secret: every delivery carries X-XMPP-Rest-Timestamp and "
      "X-XMPP-Rest-Signature sha256=HMAC(secret, timestamp.body); README's shell check "
      "(examples/check-signature.sh) accepts it and refuses a changed body, another secret, "
      "an old timestamp", group="signed")
def t_signed(c):
    import hashlib
    import hmac
    t = tok()
    sid = "ws-" + t
    c.send("<message to='bot@%s' id='%s' type='chat'><body>signed %s</body></message>"
           % (COMPONENT, sid, t))
    req = c.delivery(sid)
    ts = req.header("X-XMPP-Rest-Timestamp")
    sig = req.header("X-XMPP-Rest-Signature")
    expect(ts is not None and ts.isdigit(), "timestamp header %r" % ts)
    expect(abs(int(ts) - time.time()) < 120, "timestamp %s is not now" % ts)
    want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + req.body,
                                hashlib.sha256).hexdigest()
    expect(sig == want, "signature %r, expected %r" % (sig, want))
    expect(_run_check(req, SECRET) == 0, "the README check refuses a good signature")
    expect(_run_check(req, SECRET, body=req.body + b" ") == 1, "it accepts a changed body")
    expect(_run_check(req, SECRET + "x") == 1, "it accepts another secret")
    old = int(ts) - 3600
    old_sig = "sha256=" + hmac.new(SECRET.encode(), str(old).encode() + b"." + req.body,
                                   hashlib.sha256).hexdigest()
    env_req = type("R", (), {"header": lambda self, n, d=None: str(old) if "Timestamp" in n
                             else old_sig, "body": req.body})()
    expect(_run_check(env_req, SECRET) == 1, "it accepts an hour-old (replayed) delivery")


@test("README.md contains examples/check-signature.sh verbatim", group="signed")
def t_readme_check(c):
    with open(CHECK_SIGNATURE) as f:
        script = f.read()
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    expect(script in readme, "README.md does not contain examples/check-signature.sh")


@test("examples/echo-bot.cgi under lighttpd's mod_cgi: 'hello' to echo@rest.localhost comes "
      "back as 'You said: hello' from echo@rest.localhost; a normal message gets no answer",
      group="echo-bot")
def t_echo_bot(c):
    t = tok()
    mark = c.mark()
    c.send("<message to='echo@%s' id='eb1-%s' type='chat'><body>hello</body></message>" % (COMPONENT, t))
    rec = c.gets(lambda r: r.kind == "message" and r.body == "You said: hello" and r.seq > mark)
    expect(rec.frm == "echo@" + COMPONENT and rec.to == ALICE_FULL, "reply: %s" % rec.xml)
    mark = c.mark()
    c.send("<message to='echo@%s' id='eb2-%s'><body>not chat %s</body></message>" % (COMPONENT, t, t))
    c.quiesce()
    expect_nothing_from(c, mark, lambda r: r.kind == "message" and (r.frm or "").endswith(COMPONENT),
                        "a message of type normal must get no answer (204)")


@test("README echo bot: a chat message POSTed to echo@rest.localhost (in any case) is "
      "refused 422 and reaches the bot at most once: the bridge never talks to itself "
      "(it looped 116 times in 5 s)", group="echo-bot")
def t_echo_no_loop(c):
    problems = []
    for to in ("echo@" + COMPONENT, "echo@" + COMPONENT.upper(), COMPONENT, "echo@%s/r" % COMPONENT):
        t = tok()
        r = post(c.stack.url_fcgi, "<message to='%s' id='loop-%s' type='chat'><body>loop %s</body>"
                 "</message>" % (to, t, t))
        if r.status != 422 or "own domain" not in r.text:
            problems.append("to %s: %s %s" % (to, r.status, one_line(r.text, 200)))
        c.quiesce()
        time.sleep(1)  # a loop, if any, has had time to go round
        c.quiesce()
        runs = echo_runs(c, "loop " + t)
        if runs > 1:
            problems.append("to %s: the echo bot ran %d times" % (to, runs))
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


group("no-bridge-change", None)


@test("README.md contains examples/echo-bot.cgi verbatim", group="no-bridge-change")
def t_readme(c):
    with open(ECHO_BOT) as f:
        script = f.read().strip("\n")
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    if script in readme:
        return
    squash = lambda s: re.sub(r"\s+", " ", s).strip()  # noqa: E731
    if squash(script) in squash(readme):
        raise TestFailure("README.md has examples/echo-bot.cgi only with different white space")
    raise TestFailure("README.md does not include examples/echo-bot.cgi (verbatim) yet")


group("restored", lambda c: None)


@test("back on the stack's configuration (no callback_url): nothing is delivered, an iq "
      "gets service-unavailable, a ping a result", group="restored")
def t_restored(c):
    t = tok()
    mark = c.mark()
    c.send("<message to='bot@%s' id='nd1-%s' type='chat'><body>x</body></message>" % (COMPONENT, t))
    c.send("<iq type='get' to='bot@%s' id='nd2-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    c.send("<iq type='get' to='%s' id='nd3-%s'><ping xmlns='urn:xmpp:ping'/></iq>" % (COMPONENT, t))
    expect_error(c.iq_reply("nd2-" + t), "cancel", "service-unavailable", None, "bot@" + COMPONENT)
    rec = c.iq_reply("nd3-" + t)
    expect(rec.type == "result", "ping: %s" % rec.xml)
    c.quiesce()
    expect(not c.srv.find(lambda r: t in r.text), "a stanza was delivered: %s" % (
        c.srv.find(lambda r: t in r.text)))
    expect_nothing_from(c, mark, lambda r: r.id == "nd1-" + t, "the message must get no answer")
    expect(c.stack.bridge_conf_values().get("callback_url") is None, "the stack's configuration changed")


# The checks run group after group, in the order of the groups.
SUITE.checks.sort(key=lambda ch: [g for g, _ in GROUPS].index(ch.group))


# ---- running it -----------------------------------------------------------------------------------

def _setup(c):
    c.srv = WebhookServer()
    c.srv.handler = c.dispatch
    c.closed = closed_port()
    c.ca = TestCA(c.stack.tmp)
    c.https = WebhookServer(tls=c.ca.server_cert("localhost"))
    c.https.handler = c.dispatch
    c.https_wrong = WebhookServer(tls=c.ca.server_cert("wrong.example"))
    c.https_wrong.handler = c.dispatch


def _teardown(c):
    for s in (c.srv, c.https, c.https_wrong):
        if s is not None:
            try:
                s.close()
            except Exception:
                pass
    if c.closed:
        c.closed[1].close()
    if c.ca:
        c.ca.cleanup()


def run_suite(runner, stack, alice, bob, only=None):
    """Runs the webhook checks (those whose description contains one of
    only, if given); restores the stack's bridge configuration at the end."""
    chosen = SUITE.chosen(only)
    if not chosen:
        return None
    c = WebhookCtx(stack, alice, bob, runner)
    try:
        _setup(c)
    except Exception as e:
        runner.check("[webhook] the webhook servers and the test CA are set up", fail_with, e)
        _teardown(c)
        return c
    confs = dict(GROUPS)
    group_now, setup_error, restarted = None, None, False
    try:
        for check in chosen:
            if check.group != group_now:
                group_now, setup_error = check.group, None
                if confs[group_now] is not None:
                    try:
                        extra = confs[group_now](c)
                        stack.restart_bridge(extra)
                        restarted = extra is not None
                        runner.line("# [webhook] bridge restarted with %s" % (
                            extra or "the stack's configuration"))
                    except Exception as e:
                        setup_error = e
            if setup_error is not None:
                runner.check(SUITE.label(check), fail_with, TestFailure(
                    "restarting the bridge for group %s failed: %s" % (group_now, setup_error)))
                continue
            SUITE.run_one(runner, c, check, guard=True)
    finally:
        if restarted:
            restore_bridge(runner, stack, SUITE.name)
        _teardown(c)
    return c
