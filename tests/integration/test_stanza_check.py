"""The bridge writes only the stanza it authorized, and nothing that makes
the XMPP server close the stream (issue 14, findings 2, 4 and 6).

- Forged submit frames, spoken straight to the bridge's socket with a
  token limited by --from and --kinds: a stanza whose name, from or to is
  not the frame's, two elements, trailing junk, a comment, a PI, a
  DOCTYPE.  Each is refused with a reason and never reaches anyone.
- Through HTTP: a from with the domain in upper case is delivered and the
  session stays up; 190 KB of '>' (under max_stanza_bytes, but about
  760 KB once escaped) is 413 naming the limit; CR LF in the id is 422
  naming the attribute.

Runs once, under the stack's lighttpd (FastCGI).
"""

import json
import socket

from harness import (ALICE_FULL as ALICE, BOB_FULL as BOB, COMPONENT, FIELD_OUTCOME, FIELD_TEXT,
                     FRAME_STATUS, Ctx, Suite, expect, expect_names, expect_status, frame, post,
                     read_frame, submit_fields, word)

BOT = "bot@%s/forge" % COMPONENT

SUITE = Suite("stanza")
test = SUITE.test


def forge_token(ctx):
    """A token that may send messages as bot@rest.localhost/* only."""
    return ctx.once("forge", lambda: ctx.stack.add_token(
        "forge-" + word()[:8], "--from", "bot@%s/*" % COMPONENT, "--kinds", "message"))


def submit(ctx, stanza, kind="message", to=ALICE, frm=BOT, sid=None, typ=None, wait="sent"):
    """One SUBMIT frame straight to the bridge; returns its OUTCOME's fields."""
    fields = submit_fields(forge_token(ctx), stanza, to, frm, kind=kind, sid=sid, typ=typ,
                           wait=wait)
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(15)
        s.connect(ctx.stack.socket_path)
        s.sendall(frame(41, fields))
        seq, f = read_frame(s)
    expect(seq == 41, "answer for seq %d" % seq)
    return f


def bridge_status(ctx):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(ctx.stack.socket_path)
        s.sendall(frame(9, [], ftype=FRAME_STATUS))
        _, f = read_frame(s)
    return json.loads(f[FIELD_TEXT])


def refused(ctx, stanza, needle, marker_to=ALICE, **kw):
    """The frame is refused naming needle, and nothing of it is delivered:
    a good message sent after it arrives, the forged one never did."""
    f = submit(ctx, stanza, **kw)
    expect(f.get(FIELD_OUTCOME) == "rejected", "outcome %r for %r" % (f, stanza))
    expect(needle in f.get(FIELD_TEXT, ""), "reason %r should name %r" % (
        f.get(FIELD_TEXT), needle))
    w = word()
    good = "<message from='%s' to='%s' id='%s'><body>%s</body></message>" % (
        BOT, marker_to, w, w)
    f = submit(ctx, good, to=marker_to, sid=w)
    expect(f.get(FIELD_OUTCOME) == "sent", "the good frame after it: %r" % f)
    client = ctx.alice if marker_to == ALICE else ctx.bob
    rec = client.wait_for(lambda r: r.kind == "message" and r.body == w, 10)
    expect(rec is not None, "the good message after the forged one did not arrive")
    forged = client.find(lambda r: r.seq < rec.seq and "forged" in r.xml)
    expect(forged is None, "the forged stanza was delivered: %r" % forged)


def forged_message(body="forged", frm=BOT, to=ALICE, sid="f1"):
    return "<message from='%s' to='%s' id='%s'><body>%s</body></message>" % (
        frm, to, sid, body)


@test("socket: a frame whose stanza matches its fields is sent as FROM")
def t_forge_good(ctx):
    w = word()
    f = submit(ctx, forged_message(w, sid=w), sid=w)
    expect(f.get(FIELD_OUTCOME) == "sent", "outcome %r" % f)
    rec = ctx.alice.wait_for(lambda r: r.kind == "message" and r.body == w, 10)
    expect(rec is not None and rec.frm == BOT, "delivered as %r" % rec)


@test("socket: a forged frame whose stanza name is not its KIND is refused, never written")
def t_forge_name(ctx):
    ctx.alice.clear()
    refused(ctx, "<iq type='set' from='%s' to='%s' id='f1'><query xmlns='forged'/></iq>"
            % (BOT, ALICE), "name is 'iq', the frame's is 'message'", sid="f1")
    refused(ctx, "<presence from='%s' to='%s' id='f1'><status>forged</status></presence>"
            % (BOT, ALICE), "name is 'presence'", sid="f1")


@test("socket: a forged frame whose stanza from is not its FROM is refused, never written")
def t_forge_from(ctx):
    ctx.alice.clear()
    refused(ctx, forged_message(frm="admin@%s" % COMPONENT),
            "from is 'admin@%s', the frame's is '%s'" % (COMPONENT, BOT), sid="f1")
    refused(ctx, forged_message(frm=COMPONENT), "from is '%s'" % COMPONENT, sid="f1")


@test("socket: a forged frame whose stanza to is not its TO is refused, never written")
def t_forge_to(ctx):
    ctx.bob.clear()
    refused(ctx, forged_message(to=BOB), "to is '%s', the frame's is '%s'" % (BOB, ALICE),
            marker_to=BOB, sid="f1")


@test("socket: a forged frame with <message/><iq/> (two elements) is refused")
def t_forge_two(ctx):
    ctx.alice.clear()
    refused(ctx, forged_message() + "<iq type='set' to='%s' from='admin@%s' id='f2'>"
            "<query xmlns='forged'/></iq>" % (ALICE, COMPONENT),
            "Extra content at the end of the document", sid="f1")


@test("socket: a forged frame with trailing junk or </stream:stream> is refused")
def t_forge_junk(ctx):
    ctx.alice.clear()
    refused(ctx, forged_message() + "</stream:stream>", "Extra content", sid="f1")
    refused(ctx, forged_message() + "junk", "Extra content", sid="f1")


@test("socket: a forged frame with a comment or a PI is refused")
def t_forge_comment_pi(ctx):
    ctx.alice.clear()
    refused(ctx, forged_message("forged<!-- c -->"), "comments are not allowed", sid="f1")
    refused(ctx, forged_message("forged<?pi x?>"), "processing instructions", sid="f1")


@test("socket: a forged frame with a DOCTYPE is refused")
def t_forge_doctype(ctx):
    ctx.alice.clear()
    refused(ctx, "<!DOCTYPE message [<!ENTITY e 'forged'>]>" + forged_message("&e;"),
            "DOCTYPE is not allowed", sid="f1")


@test("socket: a frame with a WAIT word the bridge does not know is refused naming it, "
      "never written")
def t_unknown_wait(ctx):
    refused(ctx, forged_message(), "unknown wait 'iq'", wait="iq")


@test("from='bot@REST.LOCALHOST' is delivered from bot@rest.localhost; --from patterns "
      "match it; the XMPP session stays up")
def t_upper_domain(ctx):
    before = bridge_status(ctx)["xmpp"]
    w = word()
    r = post(ctx.stack.url_fcgi, "<message from='bot@REST.LOCALHOST/up' to='%s'>"
             "<body>%s</body></message>" % (ALICE, w))
    expect_status(r, 202)
    rec = ctx.alice.wait_for(lambda x: x.kind == "message" and x.body == w, 10)
    expect(rec is not None, "alice did not receive it")
    expect(rec.frm == "bot@%s/up" % COMPONENT, "from %r" % rec.frm)
    # --from patterns see the domain as configured too
    tok = ctx.stack.add_token("upper-" + word(), "--from", "bot@%s/*" % COMPONENT)
    w = word()
    r = post(ctx.stack.url_fcgi, "<message from='bot@Rest.Localhost/up' to='%s'>"
             "<body>%s</body></message>" % (ALICE, w),
             headers={"Authorization": "Bearer " + tok})
    expect_status(r, 202)
    rec = ctx.alice.wait_for(lambda x: x.kind == "message" and x.body == w, 10)
    expect(rec is not None and rec.frm == "bot@%s/up" % COMPONENT, "second: %r" % rec)
    after = bridge_status(ctx)["xmpp"]
    expect(after["state"] == "up" and after["sessions_lost"] == before["sessions_lost"],
           "the XMPP session was restarted: %r then %r" % (before, after))


@test("190 KB of '>' (over the limit once escaped): 413 naming max_stanza_bytes; "
      "the session stays up")
def t_escaped_too_big(ctx):
    before = bridge_status(ctx)["xmpp"]
    r = post(ctx.stack.url_fcgi, "<message to='%s'><body>%s</body></message>"
             % (ALICE, ">" * (190 * 1024)))
    expect_status(r, 413)
    expect_names(r, "max_stanza_bytes")
    expect_names(r, "196608")
    after = bridge_status(ctx)["xmpp"]
    expect(after["sessions_lost"] == before["sessions_lost"], "the session was lost")


@test("id with CR LF: 422 naming 'id', no Set-Cookie; the bridge refuses it too")
def t_id_crlf(ctx):
    r = post(ctx.stack.url_fcgi, "<message to='%s' id='x&#13;&#10;Set-Cookie: sid=a'>"
             "<body>x</body></message>" % ALICE)
    expect_status(r, 422)
    expect_names(r, "'id'")
    expect(r.header("Set-Cookie") is None, "a Set-Cookie header came through: %s" % r)
    # the bridge refuses it too, whoever made the frame
    f = submit(ctx, "<message from='%s' to='%s' id='x&#13;&#10;Set-Cookie: sid=a'/>"
               % (BOT, ALICE), sid="x\r\nSet-Cookie: sid=a")
    expect(f.get(FIELD_OUTCOME) == "rejected" and "'id'" in f.get(FIELD_TEXT, ""),
           "the bridge: %r" % f)


def run_suite(runner, stack, alice, bob, only=None):
    SUITE.run(runner, Ctx(stack, alice, bob, label=SUITE.name, runner=runner), only)
