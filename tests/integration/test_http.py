"""The HTTP suite, its second half: the answers (iqs and their errors,
the error body formats, timeouts, authentication, curl, the rest of
docs/API.md, concurrency, the bridge and Prosody stopped).  It runs after
test_http_requests.py, once per web server deployment (tools/web.py),
each check labelled with the deployment's name; tests/integration/run.py
starts the stack and the XMPP clients and runs it.

What the XMPP side received is checked with real clients (xmpp_client.py):
alice@localhost/test answers the test namespaces; bob@localhost/test is a
second account used for the forged-reply check.
"""

import json
import os
import re
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET

from harness import (ALICE, ALICE_FULL, BOB_FULL, COMPONENT, CT, DEFAULT_HEADERS, ERROR_STATUS,
                     Resp, Suite, TestFailure, challenges, expect, expect_names,
                     expect_stanza_ns_consistent, expect_status, local, ns_of, one_line, post, tok,
                     wait_until)
from xmpp_client import NS_ECHO, NS_FAIL, NS_SILENT, NS_PING, NS_RECEIPTS, NS_STANZAS

SUITE = Suite("http", by_mode=True)
test = SUITE.test


# -- iq --------------------------------------------------------------------------------------------

@test("an iq get echo to alice's full JID answers 200 with the result and the echoed child")
def t_iq_echo(c):
    t = tok()
    r = post(c.url, "<iq type='get' to='%s' id='e-%s'><echo xmlns='%s' token='%s'>%s</echo></iq>" % (
        ALICE_FULL, t, NS_ECHO, t, t))
    expect_status(r, 200)
    expect(r.ctype == CT, "Content-Type is %r" % r.header("Content-Type"))
    x = r.xml()
    expect(local(x.tag) == "iq" and x.get("type") == "result", "not an iq result: %s" % one_line(r.text))
    expect(x.get("id") == "e-" + t, "id=%r" % x.get("id"))
    expect(r.header("X-Stanza-Id") == "e-" + t, "X-Stanza-Id is %r" % r.header("X-Stanza-Id"))
    expect(x.get("from") == ALICE_FULL, "from=%r" % x.get("from"))
    kids = list(x)
    expect(len(kids) == 1 and ns_of(kids[0].tag) == NS_ECHO and local(kids[0].tag) == "echo"
           and kids[0].get("token") == t and kids[0].text == t,
           "echoed child missing or changed: %s" % one_line(r.text))
    expect_stanza_ns_consistent(r)


@test("an iq set echo answers 200 and alice saw the iq with from rest.localhost")
def t_iq_set_echo(c):
    t = tok()
    r = post(c.url, "<iq type='set' to='%s'><echo xmlns='%s' token='%s'/></iq>" % (ALICE_FULL, NS_ECHO, t))
    expect_status(r, 200)
    rec = c.alice_gets(lambda r: r.kind == "iq" and t in r.xml)
    expect(rec.frm == COMPONENT and rec.type == "set", "alice saw %s" % rec.xml)
    expect(r.header("X-Stanza-Id") in (None, rec.id), "X-Stanza-Id %r but alice saw id %r" % (
        r.header("X-Stanza-Id"), rec.id))
    expect(r.xml().get("id") == rec.id, "result id %r, request id %r" % (r.xml().get("id"), rec.id))


@test("an iq ping to the server (to='localhost') answers 200")
def t_iq_ping_server(c):
    r = post(c.url, "<iq type='get' to='localhost' id='ps-%s'><ping xmlns='%s'/></iq>" % (tok(), NS_PING))
    expect_status(r, 200)
    x = r.xml()
    expect(x.get("type") == "result" and x.get("from") == "localhost", "body: %s" % one_line(r.text))


def _iq_fail(cond, etype, status):
    def fn(c):
        r = post(c.url, "<iq type='get' to='%s'><fail xmlns='%s' condition='%s' type='%s'/></iq>" % (
            ALICE_FULL, NS_FAIL, cond, etype))
        expect_status(r, status)
        expect_names(r, cond)
    return fn


for _cond, _etype, _status in ERROR_STATUS:
    test("an iq answered with %s/%s gives %d" % (_etype, _cond, _status))(_iq_fail(_cond, _etype, _status))


@test("an iq in an unknown namespace (slixmpp's own feature-not-implemented) gives 501")
def t_iq_unknown_ns(c):
    r = post(c.url, "<iq type='get' to='%s'><query xmlns='urn:example:unknown'/></iq>" % ALICE_FULL)
    expect_status(r, 501)
    expect_names(r, "feature-not-implemented")


@test("an iq to an offline full JID answers 503")
def t_iq_offline(c):
    r = post(c.url, "<iq type='get' to='bob@localhost/offline-%s'><echo xmlns='%s'/></iq>" % (tok(), NS_ECHO))
    expect_status(r, 503)
    expect_names(r, "service-unavailable")


# -- error body formats -------------------------------------------------------------------------

def _fail_iq(cond="item-not-found", etype="cancel", text=None):
    return "<iq type='get' to='%s'><fail xmlns='%s' condition='%s' type='%s'%s/></iq>" % (
        ALICE_FULL, NS_FAIL, cond, etype, " text='%s'" % text if text else "")


def _alice_error_iq(c, accept):
    """POSTs the failing iq; its answer must be 404 with alice's error iq."""
    r = post(c.url, _fail_iq(), headers={"Accept": accept})
    expect_status(r, 404)
    expect(r.ctype == CT, "Content-Type is %r (docs/API.md: the error stanza)" % r.header("Content-Type"))
    x = r.xml()
    expect(local(x.tag) == "iq" and x.get("type") == "error" and x.get("from") == ALICE_FULL,
           "not alice's error iq: %s" % one_line(r.text))
    return r, x


@test("no Accept: an XMPP-side error (iq error) answers its status and the error stanza")
def t_err_default_stanza(c):
    _alice_error_iq(c, None)


@test("no Accept: our own error (422) is one line of text/plain naming the problem")
def t_err_default_local(c):
    r = post(c.url, "<foo/>", headers={"Accept": None})
    expect_status(r, 422)
    expect(r.ctype == "text/plain", "Content-Type is %r" % r.header("Content-Type"))
    expect(r.text.strip() and "\n" not in r.text.strip(), "not one line: %r" % r.text[:300])
    expect_names(r, "foo")


@test("Accept: text/plain: an XMPP-side error is one line naming the condition")
def t_err_text(c):
    r = post(c.url, _fail_iq(), headers={"Accept": "text/plain"})
    expect_status(r, 404)
    expect(r.ctype == "text/plain", "Content-Type is %r" % r.header("Content-Type"))
    expect(r.text.strip() and "\n" not in r.text.strip(), "not one line: %r" % r.text[:300])
    expect_names(r, "item-not-found")


def _json(r):
    try:
        return json.loads(r.text)
    except ValueError as e:
        raise TestFailure("not JSON (%s): %s" % (e, one_line(r.text)))


@test("an iq error with a 4 KB error type, Accept: application/json, answers JSON and the responder lives")
def t_err_long_type(c):
    for accept in ("application/json", CT, "text/plain", None):
        r = post(c.url, _fail_iq(etype="A" * 4096, text="t" * 5000), headers={"Accept": accept})
        expect_status(r, 404)
        # Apache's proxy_fcgi and CGI modules send the body chunked and
        # drop the responder's Content-Length: either framing is whole.
        cl = r.header("Content-Length")
        chunked = "chunked" in (r.header("Transfer-Encoding") or "").lower()
        expect(len(r.body) == int(cl) if cl is not None else chunked,
               "Content-Length %r (Transfer-Encoding %r) for %d bytes"
               % (cl, r.header("Transfer-Encoding"), len(r.body)))
        if accept == "application/json":
            e = _json(r).get("error") or {}
            expect(e.get("type") == "cancel", "a type not of RFC 6120 reads as cancel: %r"
                   % (e.get("type") or "")[:40])
            expect(e.get("condition") == "item-not-found", "condition %r" % e.get("condition"))
    t = tok()
    r = post(c.url, c.msg_to_alice(t))
    expect_status(r, 202)


@test("a stanza id with CR LF never makes a response header (no Set-Cookie)")
def t_id_crlf_header(c):
    t = tok()
    r = post(c.url, "<message to='%s' id='x&#13;&#10;Set-Cookie: sid=a'><body>%s</body></message>"
             % (ALICE, t))
    expect(r.header("Set-Cookie") is None, "a Set-Cookie header came through: %s" % r)
    expect(not any("sid=a" in v for _, v in r.headers.items()), "headers: %r" % r.headers.items())
    expect(r.status in (422, 500), "expected 422 (refused) or 500 (header refused), got %s" % r)


@test("a stanza id that looks like JSON cannot forge the JSON answer")
def t_id_forged_json(c):
    t = tok()
    mid = 'q","type":"forged'
    r = post(c.url, "<message to='%s' id='%s'><body>%s</body></message>" % (
        ALICE, mid.replace('"', "&quot;"), t), headers={"Accept": "application/json"})
    expect_status(r, 202)
    j = _json(r)
    expect(j.get("type") == "sent" and j.get("id") == mid, "body %s" % one_line(r.text))
    c.alice_gets_body(t)


@test("Accept: application/json gives the JSON error object of an XMPP error")
def t_err_json(c):
    t = tok()
    r = post(c.url, _fail_iq(text="why-" + t), headers={"Accept": "application/json"})
    expect_status(r, 404)
    expect(r.ctype == "application/json", "Content-Type is %r" % r.header("Content-Type"))
    try:
        j = json.loads(r.text)
    except ValueError as e:
        raise TestFailure("not JSON (%s): %s" % (e, one_line(r.text)))
    expect(j.get("type") == "error", "type=%r" % j.get("type"))
    expect(j.get("code") == r.status, "code=%r, status %d" % (j.get("code"), r.status))
    e = j.get("error") or {}
    expect(e.get("condition") == "item-not-found", "condition=%r" % e.get("condition"))
    expect(e.get("type") == "cancel", "error type=%r" % e.get("type"))
    expect("why-" + t in (e.get("text") or ""), "text=%r (the client's text is why-%s)" % (e.get("text"), t))


@test("Accept: application/json gives the JSON error object of a local error (422)")
def t_err_json_local(c):
    r = post(c.url, "<foo/>", headers={"Accept": "application/json"})
    expect_status(r, 422)
    expect(r.ctype == "application/json", "Content-Type is %r" % r.header("Content-Type"))
    try:
        j = json.loads(r.text)
    except ValueError as e:
        raise TestFailure("not JSON (%s): %s" % (e, one_line(r.text)))
    expect(j.get("type") == "error" and j.get("code") == 422, "body %s" % one_line(r.text))
    e = j.get("error") or {}
    expect(e.get("condition") == "bad-request" and e.get("type") == "modify",
           "expected modify/bad-request (docs/API.md), got %r/%r" % (e.get("type"), e.get("condition")))
    expect(isinstance(e.get("text"), str) and "foo" in e.get("text"), "text=%r" % e.get("text"))


def _stanza_error_el(x):
    """The <error> element (x itself or a child) holding a condition in
    the stanzas namespace; its condition's local name."""
    cands = [x] if local(x.tag) == "error" else [e for e in x if local(e.tag) == "error"]
    for err in cands:
        for k in err:
            if ns_of(k.tag) == NS_STANZAS and local(k.tag) != "text":
                return err, local(k.tag)
    return None, None


@test("Accept: application/xmpp+xml gives the error stanza of an XMPP error")
def t_err_xml(c):
    r, x = _alice_error_iq(c, CT)
    err, cond = _stanza_error_el(x)
    expect(cond == "item-not-found", "condition %r in %s" % (cond, one_line(r.text)))
    expect_stanza_ns_consistent(r)


@test("Accept: application/xmpp+xml on a local error (422) gives an <error> with a stanzas condition")
def t_err_xml_local(c):
    r = post(c.url, "<foo/>", headers={"Accept": CT})
    expect_status(r, 422)
    expect(r.ctype == CT, "Content-Type is %r" % r.header("Content-Type"))
    err, cond = _stanza_error_el(r.xml())
    expect(err is not None, "no <error> with a urn:ietf:params:xml:ns:xmpp-stanzas condition: %s"
           % one_line(r.text))
    expect(cond == "bad-request", "condition %r, docs/API.md says bad-request" % cond)


# -- timeouts --------------------------------------------------------------------------------------

@test("an unanswered iq with X-XMPP-Rest-Timeout: 1 answers 504")
def t_iq_timeout(c):
    t = tok()
    r = post(c.url, "<iq type='get' to='%s' id='s-%s'><q xmlns='%s'/></iq>" % (ALICE_FULL, t, NS_SILENT),
             headers={"X-XMPP-Rest-Timeout": "1"})
    expect_status(r, 504)
    c.alice_gets(lambda r: r.kind == "iq" and r.id == "s-" + t)


# -- authentication (the auth suite, test_auth.py, covers the rules once) ----------

_LIMITED = {}     # tokens with --from limits, made once per run


@test("no Authorization: 401 with WWW-Authenticate for Bearer and Basic; under Apache the "
      "body says how to pass the header on (CGIPassAuth)")
def t_auth_missing(c):
    r = post(c.url, c.msg_to_alice("no token"), headers={"Authorization": None})
    expect_status(r, 401)
    # Apache joins the two headers into one, as HTTP allows
    ch = ", ".join(challenges(r))
    expect(re.match(r'(Bearer|Basic) realm="', ch) and 'Bearer realm="' in ch and
           'Basic realm="' in ch, "WWW-Authenticate: %r" % ch)
    if c.mode.startswith("apache"):
        expect_names(r, "CGIPassAuth On")
    else:
        expect("CGIPassAuth" not in r.text, "not Apache, yet: %s" % r)


@test("a wrong token: 401 invalid_token; a from= outside the token's patterns: 403")
def t_auth_wrong(c):
    r = post(c.url, c.msg_to_alice("bad token"), headers={"Authorization": "Bearer xr_nope"})
    expect_status(r, 401)
    expect(any('error="invalid_token"' in x for x in challenges(r)), "%r" % challenges(r))
    if "bot" not in _LIMITED:
        _LIMITED["bot"] = c.stack.add_token("bot-" + tok(), "--from", "bot@%s/*" % COMPONENT)
    r = post(c.url, c.msg_to_alice("spoof", " from='admin@%s'" % COMPONENT),
             headers={"Authorization": "Bearer " + _LIMITED["bot"]})
    expect_status(r, 403)
    expect_names(r, "admin@%s" % COMPONENT)


@test("Apache without CGIPassAuth drops Authorization: 401 whose body says to add it")
def t_auth_apache_dropped(c):
    if c.mode != "apache-cgi":
        return
    path = os.path.join(c.stack.web.dir, "www", "xmpp", ".htaccess")
    with open(path) as f:
        orig = f.read()
    expect("CGIPassAuth On" in orig, ".htaccess lacks CGIPassAuth On")
    try:
        with open(path, "w") as f:
            f.write(orig.replace("CGIPassAuth On", "CGIPassAuth Off"))
        r = post(c.url, c.msg_to_alice("dropped"))
        expect_status(r, 401)
        expect_names(r, "CGIPassAuth On")
    finally:
        with open(path, "w") as f:
            f.write(orig)
    r = post(c.url, c.msg_to_alice("passed again"))
    expect_status(r, 202)


# -- curl -----------------------------------------------------------------------------------------------

def _curl(args):
    if shutil.which("curl") is None:
        raise TestFailure("curl is not installed")
    auth = []
    if DEFAULT_HEADERS.get("Authorization"):
        auth = ["-H", "Authorization: " + DEFAULT_HEADERS["Authorization"]]
    return subprocess.run(["curl", "-sS"] + auth + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


@test("curl: the documented example (curl -i --data-binary) answers 202 and alice gets it")
def t_curl_example(c):
    t = tok()
    p = _curl(["-i", "-H", "Content-Type: application/xmpp+xml", "--data-binary",
               "<message to='alice@localhost'><body>hello %s</body></message>" % t, c.url])
    out = p.stdout.decode("utf-8", "replace")
    expect(p.returncode == 0, "curl exit %d: %s" % (p.returncode, p.stderr.decode()[:200]))
    expect(re.match(r"HTTP/1\.[01] 202", out), "curl printed %s" % one_line(out))
    c.alice_gets_body("hello " + t)


@test("curl --fail exits 22 on an iq error (README: ping to an offline resource)")
def t_curl_fail(c):
    p = _curl(["--fail", "-o", "/dev/null", "-H", "Content-Type: application/xmpp+xml", "--data-binary",
               "<iq type='get' to='alice@localhost/offline'><ping xmlns='urn:xmpp:ping'/></iq>", c.url])
    expect(p.returncode == 22, "curl exit %d (%s)" % (p.returncode, p.stderr.decode()[:200]))
    p = _curl(["--fail", "-o", "/dev/null", "-H", "Content-Type: application/xmpp+xml", "--data-binary",
               _fail_iq(), c.url])
    expect(p.returncode == 22, "on item-not-found: curl exit %d (%s)" % (
        p.returncode, p.stderr.decode()[:200]))


# -- more of docs/API.md ------------------------------------------------------------------------

@test("an XML declaration is accepted (and dropped)")
def t_xml_decl(c):
    t = tok()
    r = post(c.url, "<?xml version='1.0' encoding='UTF-8'?>" + c.msg_to_alice(t))
    expect_status(r, 202)
    c.alice_gets_body(t)


@test("a message without 'to' answers 422")
def t_no_to(c):
    r = post(c.url, "<message><body>x</body></message>")
    expect_status(r, 422)
    expect_names(r, "to")


@test("a message of an unknown type answers 422")
def t_bad_msg_type(c):
    r = post(c.url, c.msg_to_alice(tok(), " type='bogus'"))
    expect_status(r, 422)
    expect_names(r, "type")


@test("X-XMPP-Rest-Timeout that is not a whole number from 1 up answers 400")
def t_bad_timeout_header(c):
    for v in ("0", "abc", "-1", "1.5"):
        r = post(c.url, "<iq type='get' to='localhost'><ping xmlns='%s'/></iq>" % NS_PING,
                 headers={"X-XMPP-Rest-Timeout": v})
        expect(r.status == 400, "X-XMPP-Rest-Timeout: %s gave %s" % (v, r))


@test("a 202 with Accept: application/json is {\"type\":\"sent\",\"id\":...}")
def t_sent_json(c):
    t = tok()
    r = post(c.url, c.msg_to_alice(t), headers={"Accept": "application/json"})
    expect_status(r, 202)
    try:
        j = json.loads(r.text)
    except ValueError as e:
        raise TestFailure("not JSON (%s): %s" % (e, one_line(r.text)))
    expect(j.get("type") == "sent" and j.get("id") == r.header("X-Stanza-Id"),
           "body %s, X-Stanza-Id %r" % (one_line(r.text), r.header("X-Stanza-Id")))
    rec = c.alice_gets_body(t)
    expect(rec.id == j.get("id"), "alice saw id %r" % rec.id)


@test("a receipt request to the bare JID is answered by the full JID's receipt (200)")
def t_receipt_bare(c):
    t = tok()
    mid = "rbare-" + t
    r = post(c.url, "<message to='%s' id='%s'><body>%s</body><request xmlns='%s'/></message>" % (
        ALICE, mid, t, NS_RECEIPTS))
    expect_status(r, 200)
    x = r.xml()
    rcv = [e for e in x if local(e.tag) == "received"]
    expect(rcv and rcv[0].get("id") == mid and x.get("from") == ALICE_FULL,
           "not alice's receipt: %s" % one_line(r.text))


@test("a receipt that never comes answers 504 after X-XMPP-Rest-Timeout")
def t_receipt_timeout(c):
    t = tok()
    c.alice.receipt_mode = "silent"
    try:
        r = post(c.url, "<message to='%s' id='rs-%s'><body>%s</body><request xmlns='%s'/></message>" % (
            ALICE_FULL, t, t, NS_RECEIPTS), headers={"X-XMPP-Rest-Timeout": "1"})
    finally:
        c.alice.receipt_mode = "receipt"
    expect_status(r, 504)
    expect(r.header("X-Stanza-Id") == "rs-" + t, "X-Stanza-Id is %r" % r.header("X-Stanza-Id"))
    c.alice_gets_body(t)


@test("XMPP side: the bridge answers a client's ping, and other iqs with service-unavailable")
def t_bridge_answers_iq(c):
    t = tok()
    c.alice.send_raw("<iq type='get' to='%s' id='bp-%s'><ping xmlns='%s'/></iq>" % (COMPONENT, t, NS_PING))
    rec = c.alice.wait_for(lambda r: r.kind == "iq" and r.id == "bp-" + t)
    expect(rec.type == "result" and rec.frm == COMPONENT, "ping answer: %s" % rec.xml)
    c.alice.send_raw("<iq type='get' to='%s' id='bq-%s'><query xmlns='urn:example:x'/></iq>" % (COMPONENT, t))
    rec = c.alice.wait_for(lambda r: r.kind == "iq" and r.id == "bq-" + t)
    err = rec.element.find("{jabber:client}error")
    expect(rec.type == "error" and err is not None and err.find("{%s}service-unavailable" % NS_STANZAS)
           is not None, "answer: %s" % rec.xml)


# -- concurrency -------------------------------------------------------------------------------------

@test("50 concurrent requests (messages and iq echoes) all get the right answers")
def t_concurrent(c):
    n = 50
    barrier = threading.Barrier(n)
    results = [None] * n
    tokens = [tok() for _ in range(n)]

    def worker(i):
        t = tokens[i]
        if i % 2:
            body = "<iq type='get' to='%s'><echo xmlns='%s' token='%s'/></iq>" % (ALICE_FULL, NS_ECHO, t)
        else:
            body = c.msg_to_alice("conc-" + t)
        try:
            barrier.wait(30)
            results[i] = post(c.url, body)
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    problems = []
    for i, r in enumerate(results):
        t = tokens[i]
        if isinstance(r, Exception) or r is None:
            problems.append("#%d: %r" % (i, r))
            continue
        if i % 2:
            if r.status != 200:
                problems.append("#%d iq: %s" % (i, r))
                continue
            try:
                x = ET.fromstring(r.body)
                kid = list(x)[0]
                if kid.get("token") != t:
                    problems.append("#%d iq: got token %r, not %r" % (i, kid.get("token"), t))
            except Exception as e:
                problems.append("#%d iq: %s (%s)" % (i, e, one_line(r.text)))
        else:
            if r.status != 202:
                problems.append("#%d message: %s" % (i, r))
                continue
            try:
                rec = c.alice_gets_body("conc-" + t, 15)
                if rec.id != r.header("X-Stanza-Id"):
                    problems.append("#%d message: id %r, header %r" % (i, rec.id, r.header("X-Stanza-Id")))
            except TimeoutError:
                problems.append("#%d message: never reached alice" % i)
    expect(not problems, "%d of %d wrong: %s" % (len(problems), n, "; ".join(problems[:5])))


@test("a forged reply from another JID does not complete an iq; the real one does")
def t_forged_reply(c):
    # The iq goes to bob@localhost/test, which records it and stays silent.
    # alice then sends an iq result with the same id to rest.localhost:
    # it reaches the bridge first (a ping round trip from alice makes sure
    # Prosody has routed it) but comes from the wrong JID.  Then bob sends
    # the real result, which must be what the HTTP request returns.
    t = tok()
    iq_id = "forge-" + t
    box = {}

    def do_post():
        try:
            box["r"] = post(c.url, "<iq type='get' to='%s' id='%s'><q xmlns='%s'/></iq>" % (
                BOB_FULL, iq_id, NS_SILENT), headers={"X-XMPP-Rest-Timeout": "10"})
        except Exception as e:
            box["r"] = e

    th = threading.Thread(target=do_post)
    th.start()
    try:
        rec = c.bob.wait_for(lambda r: r.kind == "iq" and r.id == iq_id, 10)
        c.alice.send_raw("<iq type='result' to=%s id='%s'><q xmlns='%s' forged='yes'/></iq>" % (
            "'%s'" % rec.frm, iq_id, NS_SILENT))
        c.alice.ping_server()
        c.bob.send_raw("<iq type='result' to='%s' id='%s'><q xmlns='%s' genuine='yes'/></iq>" % (
            rec.frm, iq_id, NS_SILENT))
    finally:
        th.join(30)
    r = box.get("r")
    expect(isinstance(r, Resp), "request failed: %r" % (r,))
    expect_status(r, 200)
    x = r.xml()
    expect(x.get("from") == BOB_FULL, "the reply is from %r: %s" % (x.get("from"), one_line(r.text)))
    expect("genuine" in r.text and "forged" not in r.text, "wrong reply: %s" % one_line(r.text))


# -- faults (run last in each mode; they restore the stack) ------------------------------------

@test("bridge stopped: 503 with Retry-After, body says the bridge is not running; it recovers on restart")
def t_bridge_down(c):
    st = c.stack
    rc = st.stop_bridge()
    if rc not in (0, None):
        c.note("the bridge exited with status %s on SIGTERM" % rc)
    try:
        r = post(c.url, c.msg_to_alice(tok()))
        expect_status(r, 503)
        expect(re.fullmatch(r"\d+", (r.header("Retry-After") or "").strip()),
               "Retry-After is %r" % r.header("Retry-After"))
        expect(r.header("Retry-After").strip() == "5",
               "Retry-After is %r, conf retry_after is 5" % r.header("Retry-After"))
        low = r.text.lower()
        expect("bridge" in low and ("not running" in low or "is not" in low),
               "body does not say the bridge is not running: %s" % one_line(r.text))
    finally:
        st.start_bridge()
    t = tok()

    def ok():
        return post(c.url, c.msg_to_alice(t)).status == 202
    wait_until(ok, 10, "POST after restarting the bridge")
    c.alice_gets_body(t)


@test("Prosody stopped: after queue_wait, 503 saying the XMPP session is down; 202 again "
      "after its restart")
def t_prosody_down(c):
    st = c.stack
    st.stop_prosody()
    seen = []
    try:
        def down():
            r = post(c.url, "<iq type='get' to='localhost'><ping xmlns='%s'/></iq>" % NS_PING)
            seen.append(r.status)
            return r if r.status == 503 else None
        r = wait_until(down, 10, lambda: "503 while Prosody is down (statuses seen: %s)" % seen)
        if seen[0] != 503:
            c.note("first answer after stopping Prosody was %s" % seen[0])
        low = r.text.lower()
        expect("xmpp" in low and ("down" in low or "not connected" in low or "unavailable" in low),
               "body does not say the XMPP session is down: %s" % one_line(r.text))
        expect((r.header("Retry-After") or "").strip() == "5",
               "Retry-After is %r (docs/API.md: 503 with Retry-After)" % r.header("Retry-After"))
        # a message is refused the same way
        expect_status(post(c.url, c.msg_to_alice(tok())), 503)
    finally:
        st.start_prosody()
    t = tok()

    def ok():
        return post(c.url, c.msg_to_alice("back-" + t)).status == 202
    wait_until(ok, 15, "POST answered 202 after restarting Prosody")
    c.alice.wait_online(15)
    c.bob.wait_online(15)
