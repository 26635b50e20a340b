"""A real XMPP client for the integration tests, on slixmpp.

slixmpp is asyncio based; TestClient runs its event loop in a background
thread so that the tests can stay synchronous:

    c = TestClient("alice@localhost", pw, "127.0.0.1", c2s_port)
    c.start()                      # logs in, sends presence, waits until online
    rec = c.wait_for(lambda r: r.kind == "message" and r.body == "hi", 10)
    c.stop()

Every message, presence and iq the client receives is recorded (as the raw
XML string and its top-level attributes) before slixmpp touches it.

Auto-responders, for iq get/set whose child is in namespace
  urn:xmpp-rest:test:echo    result, with the same child echoed back;
  urn:xmpp-rest:test:fail    error: the child's `condition` attribute
                             (default item-not-found) and `type` attribute
                             (default cancel), plus a <text>;
  urn:xmpp-rest:test:silent  no answer at all (timeouts);
  urn:xmpp:ping              result.
All four are handled by our own handler, so slixmpp's automatic
feature-not-implemented reply never fires for them; an iq in any other
namespace gets slixmpp's own reply (feature-not-implemented).

Messages carrying <request xmlns='urn:xmpp:receipts'/> are answered according
to receipt_mode: "receipt" (default, a XEP-0184 <received/>), "bounce" (a
message of type error with cancel/service-unavailable) or "silent".
"""

import asyncio
import itertools
import logging
import threading
import time
import copy
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

import slixmpp
from slixmpp.xmlstream import tostring
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher.base import MatcherBase

NS_ECHO = "urn:xmpp-rest:test:echo"
NS_FAIL = "urn:xmpp-rest:test:fail"
NS_SILENT = "urn:xmpp-rest:test:silent"
NS_PING = "urn:xmpp:ping"
NS_RECEIPTS = "urn:xmpp:receipts"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HANDLED_NS = (NS_ECHO, NS_FAIL, NS_SILENT, NS_PING)

log = logging.getLogger("xmpp_client")


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _ns(tag):
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


class Received:
    """One received stanza.  kind is message/presence/iq; xml the raw
    stanza as serialized from what came off the wire; attrs its top-level
    attributes (xml:lang appears as "xml:lang"); body the text of <body>
    (or None); element a copy of the parsed element."""

    def __init__(self, seq, element, xml):
        self.seq = seq
        self.time = time.monotonic()
        self.element = element
        self.xml = xml
        self.kind = _local(element.tag)
        self.attrs = {}
        for k, v in element.attrib.items():
            self.attrs["xml:lang" if k == XML_LANG else k] = v
        body = None
        for child in element:
            if _local(child.tag) == "body":
                body = child.text or ""
                break
        self.body = body

    def get(self, name, default=None):
        return self.attrs.get(name, default)

    @property
    def frm(self):
        return self.attrs.get("from")

    @property
    def to(self):
        return self.attrs.get("to")

    @property
    def id(self):
        return self.attrs.get("id")

    @property
    def type(self):
        return self.attrs.get("type")

    @property
    def lang(self):
        return self.attrs.get("xml:lang")

    def child(self, ns, name=None):
        """The first child element in namespace ns (and named name)."""
        for c in self.element:
            if _ns(c.tag) == ns and (name is None or _local(c.tag) == name):
                return c
        return None

    def __repr__(self):
        return "<Received #%d %s>" % (self.seq, self.xml[:300])


class _IqPayloadNs(MatcherBase):
    """Matches iq get/set whose (first) child is in one of our namespaces."""

    def match(self, stanza):
        xml = stanza.xml
        if _local(xml.tag) != "iq" or xml.get("type") not in ("get", "set"):
            return False
        children = list(xml)
        return bool(children) and _ns(children[0].tag) in self._criteria


class _Bot(slixmpp.ClientXMPP):
    def __init__(self, owner, jid, password):
        super().__init__(jid, password)
        self.owner = owner
        self.register_handler(Callback("xmpp-rest test iq", _IqPayloadNs(HANDLED_NS), self._on_iq))
        self.add_event_handler("message", self._on_message)

    # Every stanza, as it came off the wire (before slixmpp adds a default
    # xml:lang or anything else).
    def incoming_filter(self, xml):
        if _local(xml.tag) in ("message", "presence", "iq"):
            try:
                self.owner._record(copy.deepcopy(xml), tostring(xml, top_level=True))
            except Exception:      # recording must never break the stream
                log.exception("recording a stanza failed")
        return xml

    def _reply_head(self, xml, typ):
        attrs = " type=%s" % quoteattr(typ)
        if xml.get("id") is not None:
            attrs += " id=%s" % quoteattr(xml.get("id"))
        if xml.get("from"):
            attrs += " to=%s" % quoteattr(xml.get("from"))
        return attrs

    def _on_iq(self, iq):
        xml = iq.xml
        child = list(xml)[0]
        ns = _ns(child.tag)
        if ns == NS_SILENT:
            return
        if ns == NS_ECHO:
            out = "<iq%s>%s</iq>" % (self._reply_head(xml, "result"), tostring(child, top_level=True))
        elif ns == NS_PING:
            out = "<iq%s/>" % self._reply_head(xml, "result")
        else:  # NS_FAIL
            cond = child.get("condition") or "item-not-found"
            etype = child.get("type") or "cancel"
            text = child.get("text") or "test failure: %s" % cond
            out = ("<iq%s><error type=%s><%s xmlns='%s'/><text xmlns='%s'>%s</text></error></iq>" % (
                self._reply_head(xml, "error"), quoteattr(etype), cond, NS_STANZAS, NS_STANZAS,
                escape(text)))
        self.send_raw(out)

    def _on_message(self, msg):
        xml = msg.xml
        if xml.get("type") == "error" or xml.find("{%s}request" % NS_RECEIPTS) is None:
            return
        mode = self.owner.receipt_mode
        sender = xml.get("from")
        mid = xml.get("id")
        if mode == "silent" or not sender:
            return
        if mode == "bounce":
            out = ("<message type='error' to=%s%s><error type='cancel'>"
                   "<service-unavailable xmlns='%s'/></error></message>" % (
                       quoteattr(sender), " id=%s" % quoteattr(mid) if mid is not None else "",
                       NS_STANZAS))
        else:
            out = "<message to=%s id=%s><received xmlns='%s' id=%s/></message>" % (
                quoteattr(sender), quoteattr("rcpt-" + self.new_id()), NS_RECEIPTS,
                quoteattr(mid or ""))
        self.send_raw(out)


class TestClient:
    __test__ = False   # not a pytest test class

    def __init__(self, jid, password, host, port, resource="test"):
        self.bare = jid
        self.full_jid = "%s/%s" % (jid, resource)
        self.password = password
        self.host = host
        self.port = int(port)
        self.resource = resource
        self.receipt_mode = "receipt"
        self.loop = None
        self.xmpp = None
        self._thread = None
        self._cond = threading.Condition()
        self._records = []
        self._seq = itertools.count(1)
        self._online = threading.Event()
        self._stopping = False
        self._errors = []
        self.logins = 0

    # ---- records -------------------------------------------------------------

    def _record(self, element, xml):
        with self._cond:
            self._records.append(Received(next(self._seq), element, xml))
            self._cond.notify_all()

    def records(self):
        with self._cond:
            return list(self._records)

    def clear(self):
        with self._cond:
            self._records.clear()

    def find(self, predicate):
        with self._cond:
            for r in self._records:
                if predicate(r):
                    return r
        return None

    def find_all(self, predicate):
        with self._cond:
            return [r for r in self._records if predicate(r)]

    def wait_for(self, predicate, timeout=10.0):
        """The first recorded stanza for which predicate(rec) is true,
        waiting up to timeout seconds; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            start = 0
            while True:
                for r in self._records[start:]:
                    if predicate(r):
                        return r
                start = len(self._records)
                left = deadline - time.monotonic()
                if left <= 0:
                    last = self._records[-3:]
                    raise TimeoutError("%s: no matching stanza within %gs (%d received; last: %s)" % (
                        self.full_jid, timeout, len(self._records),
                        " | ".join(r.xml[:200] for r in last) or "none"))
                self._cond.wait(left)

    # ---- life cycle ----------------------------------------------------------

    def start(self, timeout=20.0):
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="xmpp:" + self.full_jid, daemon=True)
        self._thread.start()
        if not self._online.wait(timeout):
            err = "; ".join(self._errors[-3:])
            self.stop()
            raise RuntimeError("%s did not come online within %gs%s" % (
                self.full_jid, timeout, (": " + err) if err else ""))
        return self

    def _run(self):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loop = loop
        x = _Bot(self, self.full_jid, self.password)
        x.loop = loop
        self.xmpp = x
        x.add_event_handler("session_start", self._on_session_start)
        x.add_event_handler("disconnected", self._on_disconnected)
        x.add_event_handler("connection_failed", self._on_connection_failed)
        x.add_event_handler("failed_auth", lambda e: self._errors.append("authentication failed"))
        self._connect()
        try:
            loop.run_forever()
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for t in pending:
                    t.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            finally:
                loop.close()

    def _connect(self):
        if self._stopping:
            return
        self.xmpp.connect((self.host, self.port), force_starttls=False, disable_starttls=True)

    async def _on_session_start(self, _event):
        self._online.clear()
        self.xmpp.send_raw("<presence/>")
        # One round trip to the server: once it is answered, Prosody has
        # processed our presence and will route messages to us.
        try:
            await self._ping_server(timeout=10)
        except Exception as e:       # pragma: no cover - logged for diagnosis
            self._errors.append("initial ping: %r" % (e,))
        self.logins += 1
        self._online.set()

    async def _ping_server(self, timeout):
        iq = self.xmpp.make_iq_get(ito=self.xmpp.boundjid.domain)
        iq.append(ET.Element("{%s}ping" % NS_PING))
        await iq.send(timeout=timeout)

    def _on_disconnected(self, reason):
        self._online.clear()
        if not self._stopping:
            self._errors.append("disconnected: %s" % (reason,))
            self.loop.call_later(0.3, self._connect)

    def _on_connection_failed(self, err):
        # Retry every 0.3 s instead of slixmpp's growing back-off, so tests
        # that restart Prosody see us back quickly.
        self._errors.append("connection failed: %s" % (err,))
        self.xmpp.cancel_connection_attempt()
        if not self._stopping:
            self.loop.call_later(0.3, self._connect)

    def stop(self, timeout=5.0):
        if self._thread is None:
            return
        self._stopping = True
        loop, x = self.loop, self.xmpp
        if loop is not None and not loop.is_closed():
            async def _shutdown():
                try:
                    x.cancel_connection_attempt()
                    if x.transport:
                        await asyncio.wait_for(x.disconnect(wait=1.0), timeout)
                except Exception:
                    pass
                loop.stop()
            try:
                asyncio.run_coroutine_threadsafe(_shutdown(), loop)
            except RuntimeError:
                pass
        self._thread.join(timeout + 2)
        self._thread = None
        self._online.clear()

    @property
    def online(self):
        return self._online.is_set()

    def wait_online(self, timeout=15.0):
        if not self._online.wait(timeout):
            raise TimeoutError("%s is not online after %gs (%s)" % (
                self.full_jid, timeout, "; ".join(self._errors[-3:])))

    # ---- acting from the test thread -----------------------------------------

    def call(self, fn, *args, timeout=10.0):
        """Runs fn(*args) in the client's loop; returns its result.  fn may
        be a coroutine function."""
        async def wrapper():
            r = fn(*args)
            if asyncio.iscoroutine(r):
                r = await r
            return r
        fut = asyncio.run_coroutine_threadsafe(wrapper(), self.loop)
        return fut.result(timeout)

    def send_raw(self, xml):
        """Writes xml on the client's stream, from any thread."""
        self.call(self.xmpp.send_raw, xml)

    def ping_server(self, timeout=10.0):
        """One iq round trip to our server.  Since Prosody handles a
        session's stanzas in order, everything sent before has been routed
        when this returns."""
        self.call(self._ping_server, timeout, timeout=timeout + 2)
