"""What the webhook suites share: their Ctx, their checks of a delivery
and of a reply, and the way they run.

The webhook suites (test_webhook.py: how a stanza is delivered;
test_webhook_reply.py: what the webhook's answer sends back;
test_webhook_examples.py: the echo bot and signature check of examples/)
run once per run of run.py (after the HTTP suites), against the real
stack: alice@localhost/test (a real slixmpp client) sends stanzas to
rest.localhost and JIDs under it through Prosody; the bridge delivers them
to a real HTTP(S) server of ours on 127.0.0.1 (webhook_server.py), whose
answers are set per stanza id.  The bridge is restarted with the callback
settings of each group of checks (Stack.restart_bridge) and with the stack's
own configuration at the end of each suite, so the HTTP suites'
configuration is unchanged afterwards.

"No reply" and "not delivered" are decided without sleeping: quiesce()
sends an iq that the bridge must answer (and the webhook answers at once),
waits until the bridge has no delivery in flight (its status says so; its
delivery workers stay for a while, idle) and no zombie child, and sends a
second one; whatever the bridge sent before has reached alice by then (one
component stream, one c2s stream, in order).
"""

import os
import time

from harness import (ALICE_FULL, COMPONENT, CT, Ctx, Suite, TestFailure, expect, fail_with, ns_of,
                     one_line, restore_bridge, stanza_error, tok)
from webhook_server import TestCA, WebhookServer, closed_port, SENTINEL_NS

NS_WH = "urn:xmpp-rest:test:webhook"
NS_CLIENT = "jabber:client"
NS_COMPONENT = "jabber:component:accept"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# the main configuration's URL: every placeholder, in the path and the query
MAIN_PATH = "/hook/{kind}/{type}/{to}?from={from}&to={to}&fixed=a%2Fb"


def children(el):
    return [ch for ch in el]


class WebhookCtx(Ctx):
    """The shared Ctx, with the webhook servers and the answers planned for
    each stanza."""

    def __init__(self, stack, alice, bob, runner, label):
        Ctx.__init__(self, stack, alice, bob, label=label, runner=runner)
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


# ---- running them -----------------------------------------------------------------------------------

def main_conf(c):
    """The main group's configuration: every placeholder in the URL."""
    return {"callback_url": c.srv.url(MAIN_PATH), "callback_max_inflight": 8}


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


class WebhookSuite(Suite):
    """A webhook suite: its checks run group after group, in the order the
    groups were added, the bridge restarted on each group's configuration."""

    def __init__(self):
        Suite.__init__(self, "webhook")
        self.groups = []     # [(name, conf function(ctx) -> dict or None)]

    def group(self, name, conf):
        """A group of checks run with the bridge restarted on conf(ctx)
        (None: as it is)."""
        self.groups.append((name, conf))

    def chosen(self, only):
        names = [g for g, _ in self.groups]
        return sorted(Suite.chosen(self, only), key=lambda ch: names.index(ch.group))

    def run_suite(self, runner, stack, alice, bob, only=None):
        """Runs the suite's checks (those whose description contains one of
        only, if given); restores the stack's bridge configuration at the end."""
        chosen = self.chosen(only)
        if not chosen:
            return None
        c = WebhookCtx(stack, alice, bob, runner, self.name)
        try:
            _setup(c)
        except Exception as e:
            runner.check("[webhook] the webhook servers and the test CA are set up", fail_with, e)
            _teardown(c)
            return c
        confs = dict(self.groups)
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
                    runner.check(self.label(check), fail_with, TestFailure(
                        "restarting the bridge for group %s failed: %s" % (group_now, setup_error)))
                    continue
                self.run_one(runner, c, check, guard=True)
        finally:
            if restarted:
                restore_bridge(runner, stack, self.name)
            _teardown(c)
        return c
