#!/usr/bin/python3
"""A stand-in for xmpp-rest.fcgi that tells what a web server hands it.

The deployment tests (tools/web.py) start a web server from an etc/ snippet
with this program in the responder's place, send it one request and read
back, as JSON:

    {"mode": "fcgi" | "cgi",
     "params": {...},    the request's variables (FastCGI params; under CGI
                         the environment, which is the same thing)
     "environ": {...},   the process environment (what getenv() sees)
     "uid": N, "gid": N, "body_bytes": N,
     "writable": {"DIR": true|false, ...}}   for each directory named by
                         log_path= in ASAN_OPTIONS/UBSAN_OPTIONS

Like the responder it is one program for both: under FastCGI, descriptor 0
is a listening socket (lighttpd's bin-path, mod_fcgid, spawn-fcgi).  The
FastCGI side is the minimum of the protocol: one connection at a time,
requests not multiplexed, FCGI_KEEP_CONN honoured.  Standard library only.
"""

import json
import os
import socket
import struct
import sys

FCGI_BEGIN_REQUEST = 1
FCGI_END_REQUEST = 3
FCGI_PARAMS = 4
FCGI_STDIN = 5
FCGI_STDOUT = 6
FCGI_GET_VALUES = 9
FCGI_GET_VALUES_RESULT = 10
FCGI_UNKNOWN_TYPE = 11
FCGI_KEEP_CONN = 1


def report(mode, params, body_len):
    writable = {}
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        for opt in os.environ.get(var, "").split(":"):
            if opt.startswith("log_path="):
                d = os.path.dirname(opt[len("log_path="):]) or "."
                writable[d] = os.access(d, os.W_OK | os.X_OK)
    data = json.dumps({
        "mode": mode, "params": params, "environ": dict(os.environ),
        "uid": os.getuid(), "gid": os.getgid(), "body_bytes": body_len,
        "writable": writable}, sort_keys=True).encode()
    return (b"Status: 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(data)) + data


def serve_cgi():
    n = os.environ.get("CONTENT_LENGTH")
    body = sys.stdin.buffer.read(int(n)) if n and n.isdigit() else sys.stdin.buffer.read()
    sys.stdout.buffer.write(report("cgi", dict(os.environ), len(body)))
    sys.stdout.buffer.flush()


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_record(conn):
    _version, rtype, rid, clen, plen, _ = struct.unpack(">BBHHBB", read_exact(conn, 8))
    content = read_exact(conn, clen)
    read_exact(conn, plen)
    return rtype, rid, content


def record(rtype, rid, content=b""):
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), 0, 0) + content


def name_values(data):
    out, i = {}, 0
    while i < len(data):
        lens = []
        for _ in range(2):
            if data[i] & 0x80:
                lens.append(struct.unpack(">I", data[i:i + 4])[0] & 0x7FFFFFFF)
                i += 4
            else:
                lens.append(data[i])
                i += 1
        name = data[i:i + lens[0]].decode("latin-1")
        i += lens[0]
        out[name] = data[i:i + lens[1]].decode("latin-1")
        i += lens[1]
    return out


def encode_pair(name, value):
    return bytes([len(name), len(value)]) + name + value


def serve_connection(conn):
    params, stdin, rid, keep = b"", b"", None, False
    while True:
        rtype, r, content = read_record(conn)
        if rtype == FCGI_GET_VALUES:
            conn.sendall(record(FCGI_GET_VALUES_RESULT, 0, encode_pair(b"FCGI_MPXS_CONNS", b"0")
                                + encode_pair(b"FCGI_MAX_CONNS", b"1")
                                + encode_pair(b"FCGI_MAX_REQS", b"1")))
        elif rtype == FCGI_BEGIN_REQUEST:
            rid, keep = r, bool(content[2] & FCGI_KEEP_CONN)
            params, stdin = b"", b""
        elif rtype == FCGI_PARAMS:
            params += content
        elif rtype == FCGI_STDIN and content:
            stdin += content
        elif rtype == FCGI_STDIN:
            out = report("fcgi", name_values(params), len(stdin))
            for i in range(0, len(out), 65535):
                conn.sendall(record(FCGI_STDOUT, rid, out[i:i + 65535]))
            conn.sendall(record(FCGI_STDOUT, rid) + record(FCGI_END_REQUEST, rid, bytes(8)))
            if not keep:
                return
        elif rtype > FCGI_UNKNOWN_TYPE or rtype in (2,):     # unknown, or an abort
            if rtype == 2:
                conn.sendall(record(FCGI_END_REQUEST, r, bytes(8)))
            else:
                conn.sendall(record(FCGI_UNKNOWN_TYPE, 0, bytes([rtype]) + bytes(7)))


def serve_fcgi(listener):
    while True:
        conn, _ = listener.accept()
        try:
            serve_connection(conn)
        except (EOFError, OSError):
            pass
        finally:
            conn.close()


def main():
    # a duplicate of descriptor 0: under CGI, stdin may be a connected
    # socket (mod_cgid), which must stay open for reading the body
    try:
        s = socket.fromfd(0, socket.AF_UNIX, socket.SOCK_STREAM)
        listening = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    except OSError:
        s, listening = None, 0
    if listening:
        serve_fcgi(s)
    else:
        if s is not None:
            s.close()
        serve_cgi()


if __name__ == "__main__":
    main()
