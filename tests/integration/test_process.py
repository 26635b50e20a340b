"""Checks that run the programs themselves, with no web server in between.

- the responder as plain CGI the way Apache mod_cgid runs it for a chunked
  upload: no CONTENT_LENGTH, the body on stdin until EOF;
- the responder with an unreadable configuration;
- the bridge's socket fed garbage and a wrong protocol version;
- the bridge's start-up refusals: a bad configuration, a socket another
  bridge already serves.

Each check is run once (they do not depend on the web server's mode).
"""

import os
import socket
import struct
import subprocess
import uuid

from test_http import TestFailure, expect

CT = "application/xmpp+xml"


def cgi(stack, body, env_extra=None, conf=None):
    """Runs the responder as a CGI program; returns (status, headers, body)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": CT,
        "GATEWAY_INTERFACE": "CGI/1.1",
        "XMPP_REST_CONF": conf or stack.conf_path,
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    env.update(env_extra or {})
    p = subprocess.run([stack.responder_bin], input=body.encode(), env=env,
                       capture_output=True, timeout=30)
    head, _, rest = p.stdout.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode().split("\r\n"):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = int(headers.get("status", "0").split()[0])
    return status, headers, rest.decode("utf-8", "replace")


def t_cgi_no_length(ctx):
    word = uuid.uuid4().hex[:10]
    status, headers, body = cgi(ctx.stack, "<message to='alice@localhost/test'>"
                                "<body>%s</body></message>" % word)
    expect(status == 202, "status %d, body %r" % (status, body))
    rec = ctx.alice.wait_for(lambda r: r.kind == "message" and r.body == word, 10)
    expect(rec is not None, "alice did not receive the message")
    expect(rec.id == headers.get("x-stanza-id"), "id %r vs header %r" % (
        rec.id, headers.get("x-stanza-id")))


def t_cgi_no_length_too_big(ctx):
    big = "<message to='alice@localhost'><body>%s</body></message>" % ("x" * 200000)
    status, _, body = cgi(ctx.stack, big)
    expect(status == 413, "status %d, body %r" % (status, body[:200]))
    expect("196608" in body, "the body does not name the limit: %r" % body)


def t_cgi_bad_conf(ctx):
    missing = os.path.join(ctx.stack.tmp, "no-such.conf")
    status, _, body = cgi(ctx.stack, "<message to='alice@localhost'/>", conf=missing)
    expect(status == 500, "status %d" % status)
    expect("no-such.conf" in body and "configuration" in body,
           "the body does not say which file: %r" % body)


def frame(seq, fields, version=1, ftype=1):
    payload = b"".join(struct.pack(">BI", t, len(v)) + v for t, v in fields)
    return b"XR" + bytes([version, ftype]) + struct.pack(">II", seq, len(payload)) + payload


def read_frame(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) >= 12 and len(data) >= 12 + struct.unpack(">I", data[8:12])[0]:
            break
    expect(len(data) >= 12 and data[:2] == b"XR", "no answer frame: %r" % data[:40])
    n = struct.unpack(">I", data[8:12])[0]
    fields, off, body = {}, 0, data[12:12 + n]
    while off < len(body):
        tag, ln = struct.unpack(">BI", body[off:off + 5])
        fields[tag] = body[off + 5:off + 5 + ln].decode()
        off += 5 + ln
    return struct.unpack(">I", data[4:8])[0], fields


FIELD_OUTCOME, FIELD_TEXT = 9, 12


def ask(stack, raw):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(stack.socket_path)
        s.sendall(raw)
        return read_frame(s)


def t_socket_garbage(ctx):
    _, f = ask(ctx.stack, b"GET / HTTP/1.0\r\n\r\n")
    expect(f.get(FIELD_OUTCOME) == "rejected", "outcome %r" % f)
    expect("magic" in f.get(FIELD_TEXT, ""), "reason %r" % f.get(FIELD_TEXT))
    _, f = ask(ctx.stack, frame(5, [], version=9))
    expect(f.get(FIELD_OUTCOME) == "rejected" and "version 9" in f.get(FIELD_TEXT, ""),
           "a wrong version: %r" % f)
    _, f = ask(ctx.stack, b"XR\x01\x01\0\0\0\x07\x7f\xff\xff\xff")
    expect(f.get(FIELD_OUTCOME) == "rejected" and "limit" in f.get(FIELD_TEXT, ""),
           "an oversized length: %r" % f)
    # a submit without its fields is refused, but answered with its seq
    seq, f = ask(ctx.stack, frame(77, [(1, b"iq")]))
    expect(seq == 77 and f.get(FIELD_OUTCOME) == "rejected", "incomplete submit: %r" % f)
    # and the bridge still serves a real request afterwards
    iq = b"<iq type='get' to='localhost' id='sock1'><ping xmlns='urn:xmpp:ping'/></iq>"
    seq, f = ask(ctx.stack, frame(78, [(1, b"iq"), (2, b"sock1"), (3, b"localhost"),
                                       (6, iq), (7, b"5000"), (8, b"reply")]))
    expect(seq == 78 and f.get(FIELD_OUTCOME) == "reply", "after garbage: %r" % f)


def t_bridge_bad_conf(ctx):
    path = os.path.join(ctx.stack.tmp, "bad.conf")
    with open(path, "w") as f:
        f.write("jid rest.localhost\nsecret x\nstanza_max 5\n")
    p = subprocess.run([ctx.stack.bridge_bin, "-n", "-c", path], capture_output=True,
                       text=True, timeout=10)
    expect(p.returncode == 1, "exit status %d" % p.returncode)
    expect("bad.conf:3: unknown key 'stanza_max'" in p.stderr, "stderr %r" % p.stderr)


def t_bridge_socket_taken(ctx):
    p = subprocess.run([ctx.stack.bridge_bin, "-c", ctx.stack.conf_path],
                       capture_output=True, text=True, timeout=10)
    expect(p.returncode == 1, "a second bridge exited %d" % p.returncode)
    expect("another bridge is already listening" in p.stderr, "stderr %r" % p.stderr)
    # the first one is unharmed
    _, f = ask(ctx.stack, frame(3, [(1, b"iq"), (2, b"sock2"), (3, b"localhost"),
                                    (6, b"<iq type='get' to='localhost' id='sock2'>"
                                        b"<ping xmlns='urn:xmpp:ping'/></iq>"),
                                    (7, b"5000"), (8, b"reply")]))
    expect(f.get(FIELD_OUTCOME) == "reply", "the first bridge: %r" % f)


TESTS = [
    ("plain CGI without CONTENT_LENGTH (mod_cgid chunked): body read to EOF, 202, delivered",
     t_cgi_no_length),
    ("plain CGI without CONTENT_LENGTH over max_stanza_bytes: 413 naming the limit",
     t_cgi_no_length_too_big),
    ("responder with a missing configuration file: 500 naming the file", t_cgi_bad_conf),
    ("bridge socket: garbage, wrong version, oversized and incomplete frames are "
     "rejected with a reason; the bridge keeps serving", t_socket_garbage),
    ("xmpp-restd -n with an unknown key: exit 1 with FILE:LINE: reason", t_bridge_bad_conf),
    ("a second bridge on the same socket refuses to start; the first keeps serving",
     t_bridge_socket_taken),
]


class Ctx:
    def __init__(self, stack, alice):
        self.stack = stack
        self.alice = alice


def run_suite(runner, stack, alice):
    ctx = Ctx(stack, alice)
    for desc, fn in TESTS:
        runner.check("[process] " + desc, fn, ctx)
