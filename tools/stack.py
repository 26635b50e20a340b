#!/usr/bin/python3
"""A complete local xmpp-rest stack for tests and for trying things out.

Brings up, in a fresh temporary directory and on free ports of 127.0.0.1:

  * Prosody: VirtualHost "localhost" (users alice and bob), Component
    "rest.localhost" with a random secret, no TLS, no s2s, no HTTP; or,
    with Stack(xmpp_server="ejabberd"), Debian's ejabberd set up the same
    way (class Ejabberd), for the suites that prove "any XMPP server";
  * the bridge, bridge/xmpp-restd, with its own xmpp-rest.conf;
  * a web server in front of the responder cgi/xmpp-rest.fcgi, started
    from the snippets in etc/ (tools/web.py).  By default ("lighttpd"),
    lighttpd with both lighttpd snippets: FastCGI at /xmpp (url_fcgi) and
    plain CGI at /cgi-bin/xmpp-rest.cgi (url_cgi), plus the stack's www/cgi/
    at /cgi/ for test CGI programs.  start_web(NAME) swaps in any
    deployment of tools/web.py (apache-fcgid, nginx, ...).

As root, the web servers' children (and spawn-fcgi's responders) may run
as www-data (Apache refuses root): the bridge then runs with www-data's
group, so that its socket (mode 0660) and xmpp-rest.conf (0640) are theirs
to use, as INSTALL has it with the bridge's own group.  The secrets are
in files of their own (tools/bridge_files.py).

The parts are in modules of their own: the XMPP servers in
tools/xmpp_servers.py, the bridge's configuration, secrets and credentials
in tools/bridge_files.py, the web servers in tools/web.py, the error and
the child process they share in tools/stack_proc.py; this module wires
them, and what the tests and benchmarks import from it is named in
__all__.

Everything is stopped again by Stack.stop(), which is also called at exit
and on SIGTERM/SIGHUP.  Only the standard library is used, so any Python 3.9+
can run this file; the integration tests (which also need slixmpp) should be
run with /usr/bin/python3 on Debian.

    /usr/bin/python3 tools/stack.py run     # `make run`

Environment:
    XR_WRAP       command prefix for the bridge, e.g.
                  "valgrind --error-exitcode=99 --leak-check=full"
    XR_KEEP_TMP   if set (non-empty), the temporary directory is kept
    XR_BRIDGE     the bridge binary (default bridge/xmpp-restd)
    XR_RESPONDER  the responder binary (default cgi/xmpp-rest.fcgi)
    XR_BIN_DIR    or: take both from this directory (e.g. build/asan)
    XR_TMPDIR     parent directory for the temporary directory
"""

import atexit
import os
import re
import secrets
import shlex
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time

import web
import web_base
from bridge_files import BRIDGE_USER, SECRET_FILES, BridgeFiles, ensure_bridge_user
from stack_proc import Proc, StackError
from web_base import free_port, port_open, tail
from xmpp_servers import COMPONENT, DOMAIN, XMPP_SERVERS, Ejabberd, Prosody, XmppServer, lua_str

__all__ = ["BRIDGE_USER", "COMPONENT", "DOMAIN", "SECRET_FILES", "USERS", "XMPP_SERVERS", "BridgeFiles",
           "Ejabberd", "Proc", "Prosody", "Stack", "StackError", "XmppServer", "free_port",
           "install_signal_handlers", "lua_str", "main", "port_open", "tail"]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

USERS = ("alice", "bob")

# The bridge's own line once the handshake is done (bridge/xmpp.c), not
# libstrophe's debug lines, which say "connected" at the TCP connect: a
# stanza sent then found no route (ejabberd answered it forbidden).
_BRIDGE_CONNECTED = re.compile(r"info: connected to \S+ as component ")


class Stack:
    """The whole stack.  Typical use:

        with Stack() as st:
            ... st.url_fcgi, st.url_cgi, st.users['alice'], st.c2s_port ...

    bridge_conf: extra or overriding keys for xmpp-rest.conf.
    echo_bridge: also copy the bridge's output to our stderr.
    web: the deployment (tools/web.py) start() brings up; None for none.
    """

    def __init__(self, bridge_conf=None, echo_bridge=False, keep_tmp=None,
                 bridge_bin=None, responder_bin=None, with_bridge=True,
                 with_web=True, prosody_log_level="debug", web="lighttpd",
                 xmpp_server="prosody"):
        self.repo = REPO
        bin_dir = os.environ.get("XR_BIN_DIR")
        if bin_dir:
            bin_dir = os.path.abspath(bin_dir)
        self.bridge_bin = os.path.abspath(bridge_bin or os.environ.get("XR_BRIDGE") or (
            os.path.join(bin_dir, "xmpp-restd") if bin_dir else os.path.join(REPO, "bridge", "xmpp-restd")))
        self.responder_bin = os.path.abspath(responder_bin or os.environ.get("XR_RESPONDER") or (
            os.path.join(bin_dir, "xmpp-rest.fcgi") if bin_dir else os.path.join(REPO, "cgi", "xmpp-rest.fcgi")))
        self.extra_conf = dict(bridge_conf or {})
        self.echo_bridge = echo_bridge
        self.keep_tmp = bool(os.environ.get("XR_KEEP_TMP")) if keep_tmp is None else keep_tmp
        self.with_bridge = with_bridge
        self.web_name = web if with_web else None
        self.prosody_log_level = prosody_log_level
        self.wrap = shlex.split(os.environ.get("XR_WRAP", ""))

        self.domain = DOMAIN
        self.component = COMPONENT
        self.secret = secrets.token_hex(16)
        self.users = {u: secrets.token_urlsafe(12) for u in USERS}
        self.tmp = None
        self.token = None           # Bearer token for every request
        self.c2s_port = self.component_port = None
        self.bridge = None
        if xmpp_server not in XMPP_SERVERS:
            raise StackError("unknown XMPP server %r (one of %s)" % (xmpp_server, ", ".join(XMPP_SERVERS)))
        self.server_class = XMPP_SERVERS[xmpp_server]
        self.server = None          # the XmppServer, made by start()
        self.web = None             # the running deployment (tools/web.py)
        self.webs = []              # every deployment started, for their logs
        self.bridge_exits = []      # exit statuses of every bridge we stopped
        self._stopped = False
        self._started = False
        self._lock = threading.RLock()
        self._echo_thread = None
        self._echo_stop = threading.Event()
        self.as_root = os.geteuid() == 0
        self.files = None           # the bridge's files, made by start()

    # ---- paths and URLs ----------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    @property
    def conf_path(self):
        return self.files.conf_path

    @property
    def socket_path(self):
        return self.files.socket_path

    @property
    def credentials_path(self):
        return self.files.credentials_path

    @property
    def bridge_log(self):
        return self.path("bridge.log")

    @property
    def xmpp(self):
        """The XMPP server's running process (None while it is stopped)."""
        return self.server.proc if self.server else None

    @property
    def xmpp_log(self):
        return self.server.log if self.server else None

    @property
    def with_web(self):
        return self.web_name is not None

    @property
    def http_port(self):
        return self.web.port if self.web else None

    @property
    def lighttpd_log(self):
        """The running web server's error log."""
        return self.web.error_log if self.web else None

    @property
    def url_fcgi(self):
        """The responder's URL (FastCGI with the default web server)."""
        return self.web.url if self.web else None

    @property
    def url_cgi(self):
        """The plain-CGI URL of the default web server ("lighttpd")."""
        return getattr(self.web, "url_cgi", None)

    def web_logs(self):
        """The logs of every web deployment started so far (where the
        responders' stderr went)."""
        out = []
        for w in self.webs:
            out += [p for p in w.logs() if p not in out]
        return out

    def jid(self, user, resource=None):
        j = "%s@%s" % (user, DOMAIN)
        return j + "/" + resource if resource else j

    # ---- life cycle ----------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        if self._started:
            raise StackError("Stack.start() called twice")
        self._started = True
        atexit.register(self.stop)
        try:
            for b, what in ((self.bridge_bin, "bridge"), (self.responder_bin, "responder")):
                if (what == "bridge" and self.with_bridge) or (what == "responder" and self.with_web):
                    if not os.access(b, os.X_OK):
                        raise StackError("%s binary %s is missing or not executable (run make)" % (what, b))
            parent = os.environ.get("XR_TMPDIR") or None
            self.tmp = tempfile.mkdtemp(prefix="xmpp-rest-", dir=parent)
            # The XMPP server's user must be able to reach its directory inside;
            # nobody else needs to list it (the secrets are in there).
            os.chmod(self.tmp, 0o711)
            self.c2s_port = free_port()
            self.component_port = free_port()
            while self.component_port == self.c2s_port:
                self.component_port = free_port()
            self.files = BridgeFiles(self.tmp, self.bridge_bin, COMPONENT, self.component_port,
                                     self.secret, self.extra_conf, self.as_root)
            self.server = self.server_class(self)
            self.server.prepare()
            self.start_xmpp()
            if self.as_root:
                ensure_bridge_user()
            self.write_bridge_conf()
            # The token every test and `make run` uses; it may send as
            # any JID of the component.
            self.token = self.add_token("stack")
            if self.with_bridge:
                self.start_bridge()
            if self.web_name:
                self.start_web(self.web_name)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, cleanup=None):
        """Stops everything we started; safe to call more than once.  The
        temporary directory is removed unless cleanup is False (or None and
        keep_tmp was asked for); cleanup() removes it later."""
        with self._lock:
            if self._stopped or not self._started:
                if cleanup:
                    self.cleanup()
                return
            self._stopped = True
            self.stop_web()
            if self.bridge:
                self.stop_bridge()
            if self.xmpp:
                self.stop_xmpp()
            self._echo_stop.set()
            if self._echo_thread is not None:
                self._echo_thread.join(2)
            if cleanup is None:
                cleanup = not self.keep_tmp
            if cleanup:
                self.cleanup()
            elif self.tmp and self.keep_tmp:
                print("stack: kept %s" % self.tmp, file=sys.stderr)

    def cleanup(self):
        """Removes the temporary directory (after stop())."""
        if self.tmp and os.path.isdir(self.tmp):
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- the XMPP server ------------------------------------------------------

    def start_xmpp(self, timeout=20.0):
        with self._lock:
            self.server.start(timeout)

    def stop_xmpp(self):
        with self._lock:
            self.server.stop()

    def kill_xmpp(self):
        """SIGKILL to the XMPP server, as if it crashed."""
        with self._lock:
            self.server.kill()

    # the names from the days of one server, for checks that still use them
    start_prosody = start_xmpp
    stop_prosody = stop_xmpp

    def component_auth_count(self):
        return self.server.component_auth_count()

    def wait_component(self, since_count, timeout=10.0, since_bridge_offset=None):
        """Waits until the XMPP server has authenticated the component more than
        since_count times (or the bridge logged that it is connected after
        since_bridge_offset).  Returns True or False."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.component_auth_count() > since_count:
                return True
            if since_bridge_offset is not None and self._bridge_says_connected(since_bridge_offset):
                return True
            if self.bridge and not self.bridge.alive():
                return False
            time.sleep(0.05)
        return False

    # ---- the bridge ----------------------------------------------------------

    def bridge_conf_values(self, overrides=None):
        """xmpp-rest.conf's keys: the stack's, then overrides (a value
        None removes the key)."""
        return self.files.values(overrides)

    def secret_path(self, key="secret"):
        return self.files.secret_path(key)

    def write_bridge_conf(self, overrides=None, path=None):
        """Writes xmpp-rest.conf (or path) from bridge_conf_values(overrides)."""
        self.files.write_conf(overrides, path)

    def credential_cmd(self, *args, stdin=None, check=True):
        """Runs `xmpp-restd -c CONF ARGS...` (token/password commands);
        returns the CompletedProcess (text)."""
        return self.files.credential_cmd(*args, stdin=stdin, check=check)

    def add_token(self, name, *options):
        """A new Bearer token (printed once by `xmpp-restd token add`)."""
        return self.files.add_token(name, *options)

    def _socket_id(self):
        try:
            st = os.stat(self.socket_path)
        except OSError:
            return None
        if not stat.S_ISSOCK(st.st_mode):
            return None
        return (st.st_ino, st.st_ctime_ns)

    def _bridge_says_connected(self, offset):
        try:
            with open(self.bridge_log, "rb") as f:
                f.seek(offset)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return False
        return any(_BRIDGE_CONNECTED.search(line) for line in text.splitlines())

    def start_bridge(self, timeout=10.0):
        """Starts the bridge and waits (up to timeout) until its socket
        exists and the component is connected to the XMPP server (under XR_WRAP,
        e.g. valgrind, three times as long)."""
        if self.wrap:
            timeout *= 3
        with self._lock:
            if self.bridge and self.bridge.alive():
                raise StackError("the bridge is already running")
            old_sock = self._socket_id()
            auth0 = self.component_auth_count()
            try:
                off0 = os.path.getsize(self.bridge_log)
            except OSError:
                off0 = 0
            argv = self.wrap + [self.bridge_bin, "-c", self.conf_path]
            self.bridge = Proc("bridge", argv, self.bridge_log, cwd=self.tmp)
            if self.echo_bridge and self._echo_thread is None:
                self._echo_thread = threading.Thread(
                    target=self._echo_log, args=(self.bridge_log, off0), daemon=True)
                self._echo_thread.start()
        deadline = time.monotonic() + timeout
        have_sock = False
        while time.monotonic() < deadline:
            if not self.bridge.alive():
                rc = self.bridge.p.returncode
                self.bridge_exits.append(rc)
                self.bridge.log.close()
                self.bridge = None
                raise StackError("the bridge exited with status %s during startup:\n%s" % (
                    rc, tail(self.bridge_log)))
            sid = self._socket_id()
            have_sock = sid is not None and sid != old_sock
            # The bridge's own line when it logs at info: ejabberd writes
            # its log late, and an earlier login's line arriving then
            # looked like this one (a stanza sent then found no route).
            if have_sock and (self._bridge_says_connected(off0) or (
                    not self.files.logs_info
                    and self.component_auth_count() > auth0)):
                return
            time.sleep(0.05)
        what = "its socket %s did not appear" % self.socket_path if not have_sock \
            else "%s did not see the component connect" % self.server.name
        raise StackError("bridge not ready after %gs: %s.\n--- bridge log:\n%s\n--- %s log:\n%s" % (
            timeout, what, tail(self.bridge_log), self.server.name, tail(self.xmpp_log, 10)))

    def stop_bridge(self):
        """Stops the bridge (SIGTERM, then SIGKILL after 10 s); returns its
        exit status, also appended to bridge_exits."""
        with self._lock:
            if not self.bridge:
                return None
            rc = self.bridge.stop(timeout=20.0 if self.wrap else 10.0)
            self.bridge_exits.append(rc)
            self.bridge = None
            return rc

    def start_other_bridge(self, name):
        """A second bridge for the same component (its own configuration
        NAME.conf, socket NAME-run/, spool NAME-spool/, log NAME.log), as
        an operator who started two would have.  Returns its process
        (stop() it); its log is .log_path."""
        conf = self.path(name + ".conf")
        self.write_bridge_conf({"socket": self.path(name + "-run", "bridge.sock"),
                                 "spool_dir": self.path(name + "-spool")}, path=conf)
        return Proc(name, self.wrap + [self.bridge_bin, "-c", conf], self.path(name + ".log"),
                     cwd=self.tmp)

    def restart_bridge(self, extra_conf=None):
        """Stops the bridge, rewrites xmpp-rest.conf with the stack's keys
        plus extra_conf (keys added or overridden; a value None removes the
        key) and starts it again.  restart_bridge() with no argument goes
        back to the configuration the stack started with.  Returns the old
        bridge's exit status (also appended to bridge_exits)."""
        with self._lock:
            rc = self.stop_bridge()
            self.write_bridge_conf(extra_conf)
            self.start_bridge()
            return rc

    def bridge_children(self):
        """[(pid, state)] of the processes whose parent is the bridge (state
        as in /proc/PID/stat: R, S, Z, ...); [] when no bridge runs."""
        if not self.bridge:
            return []
        parent = str(self.bridge.pid)
        return [(pid, fields[0]) for pid, fields in web_base.proc_stats()
                if len(fields) >= 2 and fields[1] == parent]

    def _echo_log(self, path, offset):
        """Copies what is appended to path onto our stderr (run mode)."""
        with open(path, "rb") as f:
            f.seek(offset)
            while True:
                chunk = f.read(65536)
                if chunk:
                    sys.stderr.buffer.write(chunk)
                    sys.stderr.buffer.flush()
                elif self._echo_stop.is_set():
                    return
                else:
                    time.sleep(0.1)

    # ---- the web server ------------------------------------------------------

    def start_web(self, name, responder=None, label=None):
        """Stops the running web deployment (if any) and starts deployment
        name of tools/web.py (responder: another program in
        xmpp-rest.fcgi's place).  Returns it."""
        with self._lock:
            self.stop_web()
            d = web.make(name, responder=responder, label=label)
            self.webs.append(d)
            try:
                d.start(self)
            except web.WebError as e:
                raise StackError(str(e)) from None
            self.web = d
            return d

    def stop_web(self):
        with self._lock:
            if self.web is not None:
                self.web.stop()
                self.web = None

    # ---- diagnostics ---------------------------------------------------------

    def check_alive(self, expect_all=False):
        """A list of problems: processes of the stack that have died (and,
        with expect_all, those that are not running at all)."""
        bad = []
        for name, p, wanted in ((self.server_class.name, self.xmpp, True),
                                ("bridge", self.bridge, self.with_bridge)):
            if p is not None and not p.alive():
                bad.append("%s exited with status %s" % (name, p.p.returncode))
            elif p is None and expect_all and wanted:
                bad.append("%s is not running" % name)
        if self.web is not None:
            bad += self.web.problems()
        elif expect_all and self.web_name:
            bad.append("the web server (%s) is not running" % self.web_name)
        return bad

    def revive(self):
        """Restarts whichever process of the stack has died (a crash during a
        test should fail that test, not every later one).  Returns what it
        found, as check_alive() does."""
        bad = self.check_alive(expect_all=True)
        if self.xmpp is not None and not self.xmpp.alive():
            self.stop_xmpp()
        if self.xmpp is None:
            self.start_xmpp()
        if self.bridge is not None and not self.bridge.alive():
            self.stop_bridge()          # records the exit status
        if self.bridge is None and self.with_bridge:
            self.start_bridge()
        if self.web is not None and not self.web.alive():
            name, label = self.web.name, self.web.label
            responder = self.web.responder_override
            self.stop_web()
            self.start_web(name, responder=responder, label=label)
        elif self.web is None and self.web_name:
            self.start_web(self.web_name)
        return bad

    def crash_report(self, path=None, lines=400):
        """The first sanitizer/valgrind/fatal line in the last lines of the
        bridge log (or path), with the two lines after it; or None."""
        text = tail(path or self.bridge_log, lines).splitlines()
        pat = re.compile(r"ERROR: \w+Sanitizer|runtime error:|==\d+== (Invalid|Process terminating)|fatal",
                         re.I)
        for i, ln in enumerate(text):
            if pat.search(ln):
                return " | ".join(x.strip() for x in text[i:i + 3])
        return None

    def logs_tail(self, lines=20):
        out = []
        webs = [("web server %s" % self.web.label, p) for p in self.web.logs()] if self.web else []
        for title, p in [("bridge", self.bridge_log)] + webs + [(self.server_class.name, self.xmpp_log)]:
            out.append("--- %s (%s):\n%s" % (title, p, tail(p, lines)))
        return "\n".join(out)


def install_signal_handlers():
    """SIGTERM and SIGHUP behave like Ctrl-C: the main thread raises
    KeyboardInterrupt, so try/finally and `with Stack()` clean up."""
    def handler(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)
    # A shell without job control starts background commands with SIGINT
    # ignored; we still want `kill -INT` (and Ctrl-C) to stop us cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _run():
    install_signal_handlers()
    st = Stack(bridge_conf={"iq_timeout": 60, "iq_max_timeout": 300, "log_level": "info"},
               echo_bridge=True, prosody_log_level="info")
    try:
        st.start()
        url = st.url_fcgi
        msg = "<message to='alice@localhost'><body>hello</body></message>"
        print(f"""
xmpp-rest is running (Ctrl-C stops everything; files in {st.tmp})

  POST stanzas to   {url}
  (plain CGI:       {st.url_cgi})

  XMPP account      alice@localhost   password {st.users['alice']}
                    bob@localhost     password {st.users['bob']}
                    server 127.0.0.1 port {st.c2s_port} (c2s, no TLS; allow plain-text login in your client)
  component         {COMPONENT} on port {st.component_port}, config {st.conf_path}
                    (its secret in {st.secret_path()}, mode 0600: secret_file)

  token             {st.token}
                    (more: bridge/xmpp-restd -c {st.conf_path} token add NAME)

  Try it (log in as alice first to see the message arrive):

curl -i -H 'Authorization: Bearer {st.token}' -H 'Content-Type: application/xmpp+xml' --data-binary "{msg}" {url}
""", flush=True)
        while True:
            bad = st.check_alive()
            if bad:
                print("stack: " + "; ".join(bad) + ", stopping", file=sys.stderr)
                print(st.logs_tail(), file=sys.stderr)
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstack: stopping", file=sys.stderr)
        return 0
    except StackError as e:
        print("stack: %s" % e, file=sys.stderr)
        return 1
    finally:
        st.stop()


def main(argv):
    if len(argv) == 2 and argv[1] == "run":
        return _run()
    print("usage: %s run" % os.path.basename(argv[0]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
