"""The webhook suite, replies: what the webhook's answer sends back over
XMPP.  2xx with a stanza of the same kind is the reply (from the
addressee, with the original's id, type and thread); any other 2xx is an
empty iq result or nothing; every 4xx/5xx an error of its table's type
and condition; a message with a receipt request also gets its receipt.
How the suites run is in webhook_suite.py.
"""

from harness import ALICE_FULL, COMPONENT, TestFailure, expect, local, stanza_error, tok
from webhook_server import Reply
from webhook_suite import (NS_WH, WebhookSuite, expect_empty_result, expect_error,
                           expect_nothing_from, main_conf)
from xmpp_client import NS_RECEIPTS, NS_STANZAS

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

SUITE = WebhookSuite()
test = SUITE.test
group = SUITE.group


group("main", main_conf)


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


def run_suite(runner, stack, alice, bob, only=None):
    """Runs the checks (those whose description contains one of only, if
    given); restores the stack's bridge configuration at the end."""
    return SUITE.run_suite(runner, stack, alice, bob, only)
