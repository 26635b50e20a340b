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
not in xmpp-rest.conf but in xmpp-rest.secret and xmpp-rest.callback-secret
(secret_file, callback_secret_file; mode 0600, the bridge's user's), as
`make install` lays them out: a "secret" or "callback_secret" given in
bridge_conf or an override is written to its file.

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
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

import web

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DOMAIN = "localhost"
COMPONENT = "rest.localhost"
USERS = ("alice", "bob")
BRIDGE_USER = "xmpp-rest"

# The bridge's own line once the handshake is done (bridge/xmpp.c), not
# libstrophe's debug lines, which say "connected" at the TCP connect: a
# stanza sent then found no route (ejabberd answered it forbidden).
_BRIDGE_CONNECTED = re.compile(r"info: connected to \S+ as component ")


class StackError(RuntimeError):
    pass


# The small helpers live in web.py, which the deployments use too.
free_port = web.free_port
port_open = web.port_open
tail = web.tail


def lua_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Proc:
    """A child process started in its own session, with its log file."""

    def __init__(self, name, argv, log_path, **popen_kw):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab", buffering=0)
        try:
            self.p = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=self.log,
                stderr=subprocess.STDOUT, start_new_session=True,
                close_fds=True, **popen_kw)
        except OSError as e:
            self.log.close()
            raise StackError("cannot start %s (%s): %s" % (name, argv[0], e)) from e

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=10.0, group=True, sig=signal.SIGTERM, term_group=False):
        """SIGTERM (or sig; to the leader, or with term_group to the whole
        process group), then SIGKILL to the group.  Returns the exit status
        (negative: killed by that signal)."""
        if self.p.poll() is None:
            # The leader first, so that it can stop its own children
            # (lighttpd reaps its FastCGI processes) ...
            self._signal(sig, term_group)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL, group)
                self.p.wait()
        if group:
            # ... then whatever is left in its process group.
            self._signal(signal.SIGKILL, True)
        self.log.close()
        return self.p.returncode

    def _signal(self, sig, group):
        try:
            if group:
                os.killpg(self.p.pid, sig)   # our own session: pgid == pid
            else:
                self.p.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass


# ---- the XMPP server -------------------------------------------------------------

class XmppServer:
    """The stack's XMPP server: its configuration and accounts in
    stack.path(name), its process, its log.  The stack picks the ports;
    every listener is on 127.0.0.1.  As root it runs as its Debian
    package's system user.

    The class attributes below say where servers legitimately answer
    differently, so that a check states its expectation for the server it
    runs against instead of being skipped there.  (ejabberd also answers
    a version query as ejabberd, and a ping to a bare JID itself; no check
    run against it asks either.)"""

    name = None
    user = None                 # the system account it runs as (as root)
    remote_bounce = None        # the condition a message to a remote domain bounces with
    # a second component connection for a domain is accepted, and the
    # stanzas to the domain are split between the two (else: conflict)
    second_component_splits = False

    def __init__(self, stack):
        self.stack = stack
        self.dir = stack.path(self.name)
        self.proc = None

    def prepare(self):
        """Writes the configuration (once, before the first start)."""
        raise NotImplementedError

    def argv(self):
        raise NotImplementedError

    @property
    def log(self):
        raise NotImplementedError

    def component_auth_count(self):
        """How often the server has logged a successful component login."""
        try:
            with open(self.log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return 0
        return len(self.component_auth.findall(text))

    def ports(self):
        return [self.stack.c2s_port, self.stack.component_port]

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def start(self, timeout=20.0):
        if self.alive():
            raise StackError("%s is already running" % self.name)
        self.proc = _Proc(self.name, self.argv(), os.path.join(self.dir, "console.log"),
                          cwd=self.dir, env=self.env(), **self.run_as())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise StackError("%s exited with status %s:\n%s\n%s" % (
                    self.name, self.proc.p.returncode, tail(self.proc.log_path), tail(self.log)))
            if all(port_open(p) for p in self.ports()):
                self.started()
                return
            time.sleep(0.05)
        raise StackError("%s did not open ports %s within %gs:\n%s" % (
            self.name, " and ".join(map(str, self.ports())), timeout, tail(self.log)))

    def started(self):
        """Called once its ports are open."""

    def stop(self):
        if self.proc:
            self.proc.stop()
            self._wait_gone()

    def kill(self):
        """SIGKILL, as a crash would end it."""
        if self.proc:
            self.proc.stop(timeout=0, sig=signal.SIGKILL, term_group=True)
            self._wait_gone()

    def _wait_gone(self, timeout=10.0):
        """Waits until nothing of its session runs any more (a SIGKILL is
        not instant), so that a restart finds its ports free."""
        deadline = time.monotonic() + timeout
        while web.session_pids(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.proc = None

    def pw(self):
        import pwd
        try:
            return pwd.getpwnam(self.user)
        except KeyError:
            raise StackError("running as root, but there is no user %r to run %s as "
                             "(install Debian's %s package)" % (self.user, self.name, self.name)) from None

    def run_as(self):
        """Popen's keywords that run a command as the server's user."""
        if not self.stack._as_root:
            return {}
        return {"user": self.user, "group": self.pw().pw_gid, "extra_groups": []}

    def env(self):
        env = dict(os.environ)
        if self.stack._as_root:
            env["HOME"] = self.pw().pw_dir
            env["USER"] = env["LOGNAME"] = self.user
        return env

    def run_tool(self, argv, what):
        """Runs one of the server's own commands as its user; fails loudly."""
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, cwd=self.dir, env=self.env(), timeout=60,
                           **self.run_as())
        if r.returncode != 0:
            raise StackError("%s failed (%d):\n%s" % (what, r.returncode, r.stdout.decode("utf-8", "replace")))
        return r

    def give_dir(self, mode=0o700):
        """The server's directory (and all in it) to its user, if we are root."""
        os.chmod(self.dir, mode)
        if self.stack._as_root:
            pw = self.pw()
            for root, dirs, files in os.walk(self.dir):
                os.chown(root, pw.pw_uid, pw.pw_gid)
                for n in files:
                    os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)


class Prosody(XmppServer):
    name = "prosody"
    user = "prosody"
    remote_bounce = "not-allowed"
    may_lose_taken_on_kill = 0
    # mod_component logs this once per successful component login.
    component_auth = re.compile(
        r"^\S.*\b" + re.escape(COMPONENT) + r":component\s+info\s+External component successfully authenticated",
        re.M)

    @property
    def conf(self):
        return os.path.join(self.dir, "prosody.cfg.lua")

    @property
    def log(self):
        return os.path.join(self.dir, "prosody.log")

    def argv(self):
        return ["prosody", "--config", self.conf, "-F"]

    def prepare(self):
        st = self.stack
        d = self.dir
        os.makedirs(os.path.join(d, "data"))
        cfg = f"""-- written by tools/stack.py
pidfile = {lua_str(os.path.join(d, "prosody.pid"))}
data_path = {lua_str(os.path.join(d, "data"))}
log = {{
    {{ levels = {{ min = {lua_str(st.prosody_log_level)} }}, to = "file", filename = {lua_str(self.log)} }};
}}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {st.c2s_port} }}
c2s_direct_tls_ports = {{ }}
component_interfaces = {{ "127.0.0.1" }}
component_ports = {{ {st.component_port} }}
s2s_ports = {{ }}
s2s_direct_tls_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
legacy_ssl_ports = {{ }}

modules_enabled = {{ "roster", "saslauth", "disco", "ping", "time", "version" }}
-- "posix" is autoloaded; it must not be listed (see LIBRARIES.md 5)
modules_disabled = {{ "s2s", "s2s_auth_certs", "dialback", "tls" }}

c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
allow_registration = false

VirtualHost {lua_str(DOMAIN)}

Component {lua_str(COMPONENT)}
    component_secret = {lua_str(st.secret)}
"""
        with open(self.conf, "w") as f:
            f.write(cfg)
        os.chmod(self.conf, 0o600)
        self.give_dir()
        for user, pw in st.users.items():
            self.run_tool(["prosodyctl", "--config", self.conf, "register", user, DOMAIN, pw],
                          "prosodyctl register %s" % user)


class Ejabberd(XmppServer):
    """Debian's ejabberd, as its own Erlang node run from self.dir
    (ejabberdctl foreground with every path given).  ERL_DIST_PORT fixes
    the distribution port, so no epmd is started (it would listen on
    0.0.0.0:4369 and outlive us); inet_dist_use_interface keeps that port
    on 127.0.0.1.  HOME is self.dir/home, so the node's Erlang cookie is
    its own.  Accounts are made with ejabberdctl register once it runs:
    that needs the node."""

    name = "ejabberd"
    user = "ejabberd"
    remote_bounce = "forbidden"
    second_component_splits = True
    # Stanzas it took (our ping came back) but had not yet passed to the
    # user's session when killed with SIGKILL: 0 to 4 of 1000 seen.
    may_lose_taken_on_kill = 16
    component_auth = re.compile(
        r"\[info\].*ejabberd_service.*\bAccepted external component (handshake )?authentication for " +
        re.escape(COMPONENT), re.M)

    def __init__(self, stack):
        super().__init__(stack)
        self.dist_port = None
        self._registered = False

    @property
    def log(self):
        return os.path.join(self.dir, "logs", "ejabberd.log")

    def ports(self):
        return super().ports() + [self.dist_port]

    def ctl(self, *args):
        d = self.dir
        return ["ejabberdctl", "--config-dir", d, "--config", os.path.join(d, "ejabberd.yml"),
                "--ctl-config", os.path.join(d, "ejabberdctl.cfg"), "--logs", os.path.join(d, "logs"),
                "--spool", os.path.join(d, "spool")] + list(args)

    def argv(self):
        return self.ctl("foreground")

    def env(self):
        env = super().env()
        env["HOME"] = os.path.join(self.dir, "home")
        return env

    def run_as(self):
        # ejabberdctl refuses any user but root and ejabberd, and as root it
        # would su to ejabberd with that user's HOME (and cookie).
        if not self.stack._as_root:
            raise StackError("ejabberd runs as the ejabberd user: run the stack as root")
        return super().run_as()

    def prepare(self):
        st = self.stack
        d = self.dir
        for sub in ("home", "logs", "spool"):
            os.makedirs(os.path.join(d, sub))
        self.dist_port = free_port()
        while self.dist_port in (st.c2s_port, st.component_port):
            self.dist_port = free_port()
        shutil.copy("/etc/ejabberd/inetrc", os.path.join(d, "inetrc"))
        with open(os.path.join(d, "ejabberdctl.cfg"), "w") as f:
            f.write("# written by tools/stack.py\n"
                    "ERLANG_NODE=xmpp-rest-test@localhost\n"
                    "ERL_DIST_PORT=%d\n"
                    "ERL_OPTIONS=\"-kernel inet_dist_use_interface {127,0,0,1}\"\n" % self.dist_port)
        level = {"warn": "warning"}.get(st.prosody_log_level, st.prosody_log_level)
        # JSON is YAML: every string quoted, nothing for YAML to reinterpret.
        q = json.dumps
        with open(os.path.join(d, "ejabberd.yml"), "w") as f:
            f.write(f"""# written by tools/stack.py
loglevel: {level}
log_rotate_count: 0
hosts: [{q(DOMAIN)}]
listen:
  -
    port: {st.c2s_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
  -
    port: {st.component_port}
    ip: "127.0.0.1"
    module: ejabberd_service
    hosts:
      {q(COMPONENT)}:
        password: {q(st.secret)}
s2s_access: none
acme:
  auto: false
auth_method: internal
auth_password_format: scram
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
modules:
  mod_disco: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
  mod_time: {{}}
  mod_version: {{}}
""")
        self.give_dir()

    def started(self):
        if self._registered:
            return
        for user, pw in self.stack.users.items():
            self.run_tool(self.ctl("register", user, DOMAIN, pw), "ejabberdctl register %s" % user)
        self._registered = True

    def stop(self):
        # ejabberdctl is a shell script that waits for the Erlang VM, and
        # it ends at once on SIGTERM: the VM gets its own SIGTERM (it stops
        # cleanly on it) and time to act on it before the SIGKILL.
        if self.proc:
            self.proc._signal(signal.SIGTERM, True)
            deadline = time.monotonic() + 10
            while web.session_pids(self.proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            super().stop()


XMPP_SERVERS = {c.name: c for c in (Prosody, Ejabberd)}


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
        self._as_root = os.geteuid() == 0

    # ---- paths and URLs ----------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    @property
    def conf_path(self):
        return self.path("xmpp-rest.conf")

    @property
    def socket_path(self):
        # A directory of its own, which the bridge creates (see privs.c).
        return self.path("run", "bridge.sock")

    @property
    def credentials_path(self):
        return self.path("credentials")

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
            self.server = self.server_class(self)
            self.server.prepare()
            self.start_xmpp()
            if self._as_root:
                self._ensure_bridge_user()
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
        conf = {
            "jid": COMPONENT,
            "server": "127.0.0.1",
            "port": str(self.component_port),
            "secret": self.secret,      # into secret_file: write_bridge_conf
            "socket": self.socket_path,
            "iq_timeout": "5",
            "iq_max_timeout": "10",
            "max_stanza_bytes": "196608",
            "log_level": "debug",
            "reconnect_min": "1",
            "reconnect_max": "2",
            "retry_after": "5",
            "queue_wait": "2",
            "credentials_file": self.credentials_path,
            "spool_dir": self.path("spool"),
        }
        if self._as_root:
            # Started as root, the bridge drops to its own account, as a
            # packaged one would; the web server's group gets the socket.
            conf["user"] = BRIDGE_USER
            conf["socket_group"] = str(self._web_gid())
        conf.update({k: str(v) for k, v in self.extra_conf.items()})
        # None removes a key (back to the bridge's default)
        for k, v in (overrides or {}).items():
            if v is None:
                conf.pop(k, None)
            else:
                conf[k] = str(v)
        return conf

    # The secrets go to files of their own, as INSTALL lays them out:
    # key -> (the _file key, the file's name in the stack's directory).
    SECRET_FILES = {"secret": ("secret_file", "xmpp-rest.secret"),
                    "callback_secret": ("callback_secret_file", "xmpp-rest.callback-secret")}

    def secret_path(self, key="secret"):
        return self.path(self.SECRET_FILES[key][1])

    def _write_secret(self, key, value):
        """Writes a secret as INSTALL has it: a file holding it alone, mode
        0600, the bridge's user's (as root)."""
        path = self.secret_path(key)
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        os.chmod(path + ".tmp", 0o600)
        if self._as_root:
            import pwd
            os.chown(path + ".tmp", pwd.getpwnam(BRIDGE_USER).pw_uid, -1)
        os.replace(path + ".tmp", path)
        return path

    def write_bridge_conf(self, overrides=None, path=None):
        path = path or self.conf_path
        lines = ["# xmpp-rest.conf written by tools/stack.py"]
        for k, v in self.bridge_conf_values(overrides).items():
            if k in self.SECRET_FILES:
                k, v = self.SECRET_FILES[k][0], self._write_secret(k, v)
            lines.append("%s %s" % (k, v))
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        if path == self.conf_path:
            self._bridge_logs_info = str(self.bridge_conf_values(overrides).get(
                "log_level", "info")) in ("info", "debug")
        # The responder (the web server's children) and the bridge both
        # read it; as root the responder may run as www-data.
        gid = self._web_gid()
        if gid is not None:
            # the bridge's own account reads it again on SIGHUP
            import pwd
            os.chown(path, pwd.getpwnam(BRIDGE_USER).pw_uid, gid)
            os.chmod(path, 0o640)
        else:
            os.chmod(path, 0o600)

    def _web_gid(self):
        """As root: the group of the web servers' user (www-data), which
        the bridge runs with so that its socket is theirs to use."""
        if not self._as_root:
            return None
        try:
            return web.web_user().pw_gid
        except web.WebError as e:
            raise StackError(str(e)) from None

    def _ensure_bridge_user(self):
        """As root: the system account the bridge drops to (INSTALL's
        'xmpp-rest'), made once per machine."""
        import pwd
        try:
            pwd.getpwnam(BRIDGE_USER)
        except KeyError:
            r = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                                "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                                BRIDGE_USER], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                raise StackError("useradd %s failed: %s" % (
                    BRIDGE_USER, r.stdout.decode("utf-8", "replace")))

    def credential_cmd(self, *args, stdin=None, check=True):
        """Runs `xmpp-restd -c CONF ARGS...` (token/password commands);
        returns the CompletedProcess (text)."""
        r = subprocess.run([self.bridge_bin, "-c", self.conf_path] + list(args),
                           input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise StackError("xmpp-restd %s failed (%d): %s" % (
                " ".join(args), r.returncode, r.stderr.strip()))
        return r

    def add_token(self, name, *options):
        """A new Bearer token (printed once by `xmpp-restd token add`)."""
        return self.credential_cmd("token", "add", name, *options).stdout.strip()

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
            self.bridge = _Proc("bridge", argv, self.bridge_log, cwd=self.tmp)
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
                    not getattr(self, "_bridge_logs_info", True)
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
        return _Proc(name, self.wrap + [self.bridge_bin, "-c", conf], self.path(name + ".log"),
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
        parent = self.bridge.pid
        found = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d, "rb") as f:
                    data = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            fields = data.rsplit(")", 1)[-1].split()
            if len(fields) >= 2 and fields[1] == str(parent):
                found.append((int(d), fields[0]))
        return found

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
