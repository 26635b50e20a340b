"""The HTTP suite, its first half: what a request may be and what it
becomes on the XMPP side (methods, Content-Type, size, the XML refused,
the stanzas refused, from, messages and presence, receipts).  The second
half, test_http.py, runs after it, with the same labels: both run once
per web server deployment (tools/web.py), each check labelled with the
deployment's name.  tests/integration/run.py starts the stack and the XMPP
clients and runs it.
"""

import re

from harness import (ALICE, ALICE_FULL, COMPONENT, CT, Suite, expect, expect_names,
                     expect_stanza_ns_consistent, expect_status, local, ns_of, one_line, post,
                     request, tok)
from xmpp_client import NS_RECEIPTS, NS_STANZAS

ALLOW_405 = "POST, OPTIONS"
MAX_BYTES = 196608

SUITE = Suite("http", by_mode=True)
test = SUITE.test


# -- methods ---------------------------------------------------------------------------

@test("OPTIONS answers 204 with Allow listing POST and OPTIONS")
def t_options(c):
    r = request("OPTIONS", c.url)
    expect_status(r, 204)
    allow = [m.strip().upper() for m in (r.header("Allow") or "").split(",")]
    expect("POST" in allow and "OPTIONS" in allow, "Allow is %r" % r.header("Allow"))


def _method_405(method):
    def fn(c):
        r = request(method, c.url, body=b"" if method == "PUT" else None)
        expect_status(r, 405)
        expect((r.header("Allow") or "").replace(" ", "") == ALLOW_405.replace(" ", ""),
               "Allow is %r, expected %r" % (r.header("Allow"), ALLOW_405))
    return fn


for _m in ("GET", "PUT", "DELETE"):
    test("%s answers 405 with Allow: %s" % (_m, ALLOW_405))(_method_405(_m))


# -- Content-Type ---------------------------------------------------------------------

@test("POST without Content-Type answers 415")
def t_no_ctype(c):
    t = tok()
    r = post(c.url, c.msg_to_alice(t), ctype=None)
    expect_status(r, 415)


@test("POST with Content-Type text/plain answers 415")
def t_text_plain(c):
    r = post(c.url, c.msg_to_alice(tok()), ctype="text/plain")
    expect_status(r, 415)
    expect_names(r, "content-type", "application/xmpp+xml", "media type")


@test("POST with Content-Type application/xmpp+xml; charset=utf-8 is accepted and delivered")
def t_ctype_charset(c):
    t = tok()
    r = post(c.url, c.msg_to_alice(t), ctype="application/xmpp+xml; charset=utf-8")
    expect_status(r, 202)
    c.alice_gets_body(t)


# -- size ----------------------------------------------------------------------------------

def _big_message(size, t=""):
    head = "<message to='%s'><body>%s" % (ALICE, t)
    tail = "</body></message>"
    return head + "x" * (size - len(head) - len(tail)) + tail


@test("a body of max_stanza_bytes + 1 answers 413 naming the limit")
def t_too_big(c):
    body = _big_message(MAX_BYTES + 1)
    r = post(c.url, body)
    expect_status(r, 413)
    expect_names(r, str(MAX_BYTES), "max_stanza_bytes")


@test("a stanza of exactly max_stanza_bytes once serialised for XMPP is accepted and delivered; "
      "one byte more answers 413 naming both sizes")
def t_max_size(c):
    t = tok()
    # max_stanza_bytes applies to what is written (with the from the
    # bridge adds): the 413 for a body of that size says how much more.
    r = post(c.url, _big_message(MAX_BYTES, t))
    expect_status(r, 413)
    m = re.search(r"stanza is (\d+) bytes once serialized", r.text)
    expect(m is not None, "the 413 does not say the serialised size: %s" % r.text)
    extra = int(m.group(1)) - MAX_BYTES
    expect(0 < extra < 200, "serialising added %d bytes" % extra)
    r = post(c.url, _big_message(MAX_BYTES - extra + 1, t))
    expect_status(r, 413)
    expect_names(r, str(MAX_BYTES + 1), str(MAX_BYTES))
    r = post(c.url, _big_message(MAX_BYTES - extra, t))
    expect_status(r, 202)
    rec = c.alice.wait_for(lambda r: r.kind == "message" and r.body and r.body.startswith(t), 15)
    expect(rec.body == t + "x" * (len(rec.body) - len(t)) and MAX_BYTES - len(rec.body) < 200,
           "body arrived damaged (%d bytes)" % len(rec.body))


# lighttpd, mod_fcgid and nginx de-chunk a chunked upload and set
# CONTENT_LENGTH; Apache's mod_cgid (apache-cgi) passes it on without
# CONTENT_LENGTH, so there the responder reads the body to EOF.
@test("a chunked upload (no Content-Length) is accepted and delivered")
def t_chunked_ok(c):
    t = tok()
    r = post(c.url, c.msg_to_alice(t), chunked=True)
    expect_status(r, 202)
    c.alice_gets_body(t)


@test("a chunked upload (no Content-Length) over max_stanza_bytes answers 413")
def t_chunked_big(c):
    r = post(c.url, _big_message(MAX_BYTES + 1000), chunked=True)
    expect_status(r, 413)
    expect_names(r, str(MAX_BYTES), "max_stanza_bytes")


# -- XML the parser must refuse (400) ----------------------------------------------------

def _refused_400(body, *words):
    def fn(c):
        r = post(c.url, body)
        expect_status(r, 400)
        if words:
            expect_names(r, *words)
        expect(r.text.strip().count("\n") == 0 or r.ctype != "text/plain",
               "text/plain error should be one line: %r" % r.text[:300])
    return fn


BILLION_LAUGHS = ("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
                  "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
                  "<!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>"
                  "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>"
                  "<!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>"
                  "<!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>"
                  "<!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>"
                  "<!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>"
                  "<!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>"
                  "<!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>"
                  "]><message to='alice@localhost'><body>&lol9;</body></message>")

test("a DOCTYPE answers 400 naming the DOCTYPE")(_refused_400(
    "<!DOCTYPE message><message to='alice@localhost'><body>doctype</body></message>", "doctype"))
test("billion laughs (internal entities) answers 400 naming the DOCTYPE/entity")(_refused_400(
    BILLION_LAUGHS, "doctype", "entity", "dtd"))
test("an undefined entity &nope; answers 400 naming the entity")(_refused_400(
    "<message to='alice@localhost'><body>a &nope; b</body></message>", "entity", "nope"))
test("a comment answers 400 naming the comment")(_refused_400(
    "<message to='alice@localhost'><!-- hi --><body>c</body></message>", "comment"))
test("a processing instruction answers 400 naming it")(_refused_400(
    "<message to='alice@localhost'><?php echo 1 ?><body>c</body></message>",
    "processing instruction", "processing-instruction"))
test("two top-level elements <message/><iq/> answer 400")(_refused_400(
    "<message to='alice@localhost'/><iq to='localhost' type='get'><ping xmlns='urn:xmpp:ping'/></iq>"))
test("an empty body answers 400")(_refused_400(""))


@test("an XXE external entity answers 400 naming the DOCTYPE/entity, and nothing leaks")
def t_xxe(c):
    t = tok()
    body = ("<!DOCTYPE message [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>"
            "<message to='alice@localhost'><body>%s &xxe;</body></message>" % t)
    r = post(c.url, body)
    expect_status(r, 400)
    expect_names(r, "doctype", "entity", "dtd")
    expect("root:" not in r.text, "the response contains /etc/passwd")
    # a marker message after it: once it arrived, the XXE one would have too
    m = tok()
    expect_status(post(c.url, c.msg_to_alice(m)), 202)
    c.alice_gets_body(m)
    expect(c.alice_never_got(t), "alice received the XXE message")


@test("not well-formed XML answers 400 with the parser's reason on one line")
def t_not_wf(c):
    r = post(c.url, "<message to='alice@localhost'><body>x</message>")
    expect_status(r, 400)
    text = r.text.strip()
    expect(text and "\n" not in text, "reason should be one line: %r" % r.text[:300])
    expect_names(r, "mismatch", "tag", "body")


# -- what is not a stanza we send (422) ---------------------------------------------------------

def _nested(levels):
    """A message whose deepest element is at depth `levels` (the message
    itself is depth 1)."""
    inner = levels - 1
    return ("<message to='alice@localhost'>" + "<x xmlns='urn:xmpp-rest:test:deep'>" * inner +
            "</x>" * inner + "</message>")


@test("33 levels of nesting answer 422 naming max_stanza_depth")
def t_depth_33(c):
    r = post(c.url, _nested(33))
    expect_status(r, 422)
    expect_names(r, "max_stanza_depth")


@test("32 levels of nesting are accepted")
def t_depth_32(c):
    expect_status(post(c.url, _nested(32)), 202)


@test("65 attributes on an element answer 422 naming max_stanza_attributes")
def t_attrs_65(c):
    attrs = " ".join("a%d='%d'" % (i, i) for i in range(65))
    r = post(c.url, "<message to='alice@localhost'><x xmlns='urn:xmpp-rest:test:a' %s/></message>" % attrs)
    expect_status(r, 422)
    expect_names(r, "max_stanza_attributes")


@test("<foo/> answers 422")
def t_foo(c):
    r = post(c.url, "<foo to='alice@localhost'/>")
    expect_status(r, 422)
    expect_names(r, "foo", "stanza")


@test("a message in a wrong namespace answers 422")
def t_wrong_ns(c):
    r = post(c.url, "<message xmlns='urn:example:wrong' to='alice@localhost'><body>x</body></message>")
    expect_status(r, 422)
    expect_names(r, "namespace")


@test("an invalid 'to' JID answers 422")
def t_bad_to(c):
    r = post(c.url, "<message to='@localhost'><body>x</body></message>")
    expect_status(r, 422)
    expect_names(r, "to", "jid")


@test("an invalid 'from' JID answers 422")
def t_bad_from(c):
    r = post(c.url, "<message from='bot@rest.localhost/' to='alice@localhost'><body>x</body></message>")
    expect_status(r, 422)
    expect_names(r, "from", "jid")


@test("an iq of type result answers 422")
def t_iq_result(c):
    r = post(c.url, "<iq type='result' to='%s' id='r1'/>" % ALICE_FULL)
    expect_status(r, 422)
    expect_names(r, "type")


@test("an iq without a child answers 422")
def t_iq_no_child(c):
    r = post(c.url, "<iq type='get' to='localhost'/>")
    expect_status(r, 422)


@test("an iq with two children answers 422")
def t_iq_two_children(c):
    r = post(c.url, "<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/>"
                    "<ping xmlns='urn:xmpp:ping'/></iq>")
    expect_status(r, 422)


# -- from ------------------------------------------------------------------------------------

@test("from='someone@elsewhere' answers 403")
def t_from_elsewhere(c):
    t = tok()
    r = post(c.url, c.msg_to_alice(t, " from='someone@elsewhere'"))
    expect_status(r, 403)
    expect_names(r, "from", COMPONENT)


@test("from='bot@rest.localhost/x' is accepted and the client sees that from")
def t_from_bot(c):
    t = tok()
    r = post(c.url, c.msg_to_alice(t, " from='bot@rest.localhost/x'"))
    expect_status(r, 202)
    rec = c.alice_gets_body(t)
    expect(rec.frm == "bot@rest.localhost/x", "client saw from=%r" % rec.frm)


@test("without from the client sees from='rest.localhost'")
def t_from_default(c):
    t = tok()
    expect_status(post(c.url, c.msg_to_alice(t)), 202)
    rec = c.alice_gets_body(t)
    expect(rec.frm == COMPONENT, "client saw from=%r" % rec.frm)


# -- messages and presence ---------------------------------------------------------------------

@test("a message to alice answers 202 with X-Stanza-Id; alice gets it with that id, body and from")
def t_message(c):
    t = tok()
    r = post(c.url, c.msg_to_alice(t))
    expect_status(r, 202)
    sid = r.header("X-Stanza-Id")
    expect(sid, "no X-Stanza-Id header")
    rec = c.alice_gets_body(t)
    expect(rec.id == sid, "client saw id=%r, header said %r" % (rec.id, sid))
    expect(rec.frm == COMPONENT, "from=%r" % rec.frm)
    expect(rec.to == ALICE, "to=%r" % rec.to)


@test("a message id given by the user is kept (header and client)")
def t_message_id(c):
    t = tok()
    mid = "user-id-" + t
    r = post(c.url, c.msg_to_alice(t, " id='%s'" % mid))
    expect_status(r, 202)
    expect(r.header("X-Stanza-Id") == mid, "X-Stanza-Id is %r" % r.header("X-Stanza-Id"))
    rec = c.alice_gets_body(t)
    expect(rec.id == mid, "client saw id=%r" % rec.id)


@test("only from/to/id/type/xml:lang survive on the top element")
def t_top_attrs(c):
    t = tok()
    body = ("<message to='%s' type='chat' xml:lang='de' bogus='1' xmlns:e='urn:example:e' e:extra='2'>"
            "<body>%s</body></message>" % (ALICE, t))
    r = post(c.url, body)
    expect_status(r, 202)
    rec = c.alice_gets_body(t)
    extra = set(rec.attrs) - {"from", "to", "id", "type", "xml:lang"}
    expect(not extra, "client saw extra attributes %s in %s" % (sorted(extra), rec.xml))
    expect(rec.lang == "de", "client saw xml:lang=%r" % rec.lang)
    expect(rec.type == "chat", "client saw type=%r" % rec.type)


@test("a presence to alice answers 202 and alice receives it")
def t_presence(c):
    t = tok()
    r = post(c.url, "<presence to='%s' id='p-%s'><status>%s</status></presence>" % (ALICE_FULL, t, t))
    expect_status(r, 202)
    rec = c.alice_gets(lambda r: r.kind == "presence" and r.id == "p-" + t)
    expect(rec.frm == COMPONENT, "from=%r" % rec.frm)


# -- receipts ------------------------------------------------------------------------------------

@test("a message with a receipt request answers 200 with the <received> stanza")
def t_receipt(c):
    t = tok()
    mid = "rq-" + t
    r = post(c.url, "<message to='%s' id='%s'><body>%s</body><request xmlns='%s'/></message>" % (
        ALICE_FULL, mid, t, NS_RECEIPTS))
    expect_status(r, 200)
    expect(r.ctype == CT, "Content-Type is %r" % r.header("Content-Type"))
    x = r.xml()
    expect(local(x.tag) == "message", "body is not a message: %s" % one_line(r.text))
    rcv = [e for e in x if local(e.tag) == "received" and ns_of(e.tag) == NS_RECEIPTS]
    expect(rcv and rcv[0].get("id") == mid, "no <received id='%s'/>: %s" % (mid, one_line(r.text)))
    expect(x.get("from") == ALICE_FULL, "receipt from=%r" % x.get("from"))
    expect_stanza_ns_consistent(r)
    c.alice_gets_body(t)


def _receipt_bounce(c, prefix, accept):
    """POSTs a message alice bounces instead of acknowledging; its answer
    must be 503 with the error message as the body."""
    t = tok()
    c.alice.receipt_mode = "bounce"
    try:
        r = post(c.url, "<message to='%s' id='%s-%s'><body>%s</body><request xmlns='%s'/></message>" % (
            ALICE_FULL, prefix, t, t, NS_RECEIPTS), headers={"Accept": accept})
    finally:
        c.alice.receipt_mode = "receipt"
    expect_status(r, 503)
    x = r.xml()
    expect(local(x.tag) == "message" and x.get("type") == "error",
           "body is not the error message: %s" % one_line(r.text))
    return r, x


@test("no Accept: a bounce of a message waiting for its receipt answers 503 and the error stanza")
def t_receipt_bounce_default(c):
    r, _ = _receipt_bounce(c, "rbd", None)
    expect(r.ctype == CT, "Content-Type is %r (docs/API.md: the error stanza)" % r.header("Content-Type"))


@test("a receipt request answered with an error bounce gives 503 and the error stanza")
def t_receipt_bounce(c):
    r, x = _receipt_bounce(c, "rb", CT)
    err = [e for e in x if local(e.tag) == "error"]
    expect(err and any(local(k.tag) == "service-unavailable" and ns_of(k.tag) == NS_STANZAS
                       for k in err[0]), "no service-unavailable in %s" % one_line(r.text))
    expect_stanza_ns_consistent(r)


@test("a receipt request to nobody@localhost answers 503 (Prosody bounces)")
def t_receipt_nobody(c):
    r = post(c.url, "<message to='nobody@localhost' id='nb-%s'><body>x</body><request xmlns='%s'/></message>"
             % (tok(), NS_RECEIPTS))
    expect_status(r, 503)
