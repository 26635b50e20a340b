#!/usr/bin/python3
"""The documented ways of deploying xmpp-rest behind a web server, each one
started for real from its snippet in etc/, used verbatim.

A snippet's placeholders (@LIBEXECDIR@, @CONF@, ...: each documented in the
snippet's own header) are filled in here; everything a real host would
already have (the server's own configuration: port, document root, logs,
the modules Debian enables by default) is a small private configuration
written next to it, on 127.0.0.1 and a free port, in a directory of the
stack's temporary directory.

A deployment has:

    name        lighttpd-fcgi, lighttpd-cgi, apache-fcgid, apache-proxy-fcgi,
                apache-cgi, nginx (DEPLOYMENTS); "lighttpd" is the stack's
                own server for `make run` and the webhook suite: both
                lighttpd snippets plus the test CGI directory /cgi/
    start(stack), stop(), alive()
    url         where the responder answers
    logs()      the files the responder's stderr (and so a sanitizer's
                report without log_path) can land in
    left_behind after stop(): responders that did not exit on SIGTERM

What is taken from a snippet besides its configuration lines: for Apache,
the modules its header says to `a2enmod` (loaded on top of Debian's
defaults, from /etc/apache2/mods-available, with their dependencies); for
nginx and mod_proxy_fcgi, the `env XMPP_REST_CONF=... spawn-fcgi ...`
command its header shows, run as it stands.

make(name, responder=None) builds one; responder replaces xmpp-rest.fcgi
(the tests put tools/web_probe.py there to see what the program is handed).

Servers run as the current user.  As root they run as root where they
allow it (lighttpd, nginx); Apache refuses, so its children run as
WEB_USER (www-data), and so does a responder that spawn-fcgi starts
(`spawn-fcgi -u root` is refused as well).  The stack then lets WEB_USER
in: the bridge runs with WEB_USER's group, the configuration is readable
by that group (tools/stack.py).

Only the standard library is used.
"""

import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ETC = os.path.join(REPO, "etc")
PROBE = os.path.join(REPO, "tools", "web_probe.py")
WEB_USER = "www-data"
SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS")
APACHE_MODS = "/etc/apache2/mods-available"
# What a fresh Debian 12 apache2 enables (mods-enabled after the install).
APACHE_DEFAULT_MODS = ("mpm_event", "authz_core", "authz_host", "authz_user",
                       "authn_core", "authn_file", "auth_basic", "access_compat",
                       "alias", "autoindex", "deflate", "dir", "env", "filter",
                       "mime", "negotiation", "reqtimeout", "setenvif", "status")

_PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


class WebError(RuntimeError):
    pass


# ---- helpers ------------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "(%s: %s)" % (path, e.strerror)
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:]) if text else "(%s is empty)" % path


def quote(s):
    """A double-quoted string for lighttpd, Apache and nginx alike."""
    if any(c in s for c in '"\\\n'):
        raise WebError("path %r cannot go into a server configuration" % s)
    return '"%s"' % s


def as_root():
    return os.geteuid() == 0


def web_user():
    """The user the web servers' children and spawn-fcgi's responder run
    as: WEB_USER when we are root, else ourselves."""
    if as_root():
        try:
            return pwd.getpwnam(WEB_USER)
        except KeyError:
            raise WebError("running as root, but there is no user %r for the web servers" %
                           WEB_USER) from None
    return pwd.getpwuid(os.getuid())


def web_group_name():
    return grp.getgrgid(web_user().pw_gid).gr_name


def give_to_web_user(path):
    """path (a directory we made) becomes WEB_USER's when we are root."""
    if as_root():
        pw = web_user()
        os.chown(path, pw.pw_uid, pw.pw_gid)


def sanitizer_log_dirs(env=None):
    """The directories named by log_path= in ASAN_OPTIONS/UBSAN_OPTIONS."""
    env = os.environ if env is None else env
    dirs = []
    for var in SANITIZER_VARS:
        for opt in env.get(var, "").split(":"):
            if opt.startswith("log_path="):
                d = os.path.dirname(os.path.abspath(opt[len("log_path="):]))
                if d not in dirs:
                    dirs.append(d)
    return dirs


def open_sanitizer_log_dirs():
    """As root, lets WEB_USER's group write the sanitizer log directories
    (tests/run-all makes one, mode 0700): responders that Apache or
    spawn-fcgi start run as WEB_USER and must be able to write their
    reports there.  Returns what it changed."""
    changed = []
    if not as_root():
        return changed
    gid = web_user().pw_gid
    for d in sanitizer_log_dirs():
        try:
            st = os.stat(d)
        except OSError:
            continue
        if st.st_gid != gid or st.st_mode & 0o070 != 0o070:
            os.chown(d, -1, gid)
            os.chmod(d, (st.st_mode & 0o7707) | 0o070)
            changed.append(d)
    return changed


# ---- snippets -----------------------------------------------------------------

def read_snippet(fname):
    path = os.path.join(ETC, fname)
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        raise WebError("cannot read the snippet %s: %s" % (path, e.strerror)) from None


def header(text):
    """The comment lines that open a snippet."""
    out = []
    for ln in text.splitlines():
        if not ln.startswith("#"):
            break
        out.append(ln)
    return "\n".join(out)


def documented_placeholders(text):
    return set(re.findall(r"^#\s+@([A-Z][A-Z0-9_]*)@\s", header(text), re.M))


def fill(fname, values):
    """The snippet etc/fname with its placeholders filled in from values.
    Fails if a placeholder is not documented in the snippet's header or has
    no value."""
    text = read_snippet(fname)
    used = set(_PLACEHOLDER.findall(text))
    undocumented = used - documented_placeholders(text)
    if undocumented:
        raise WebError("etc/%s: placeholder(s) %s not documented in its header" % (
            fname, ", ".join("@%s@" % n for n in sorted(undocumented))))
    missing = used - set(values)
    if missing:
        raise WebError("etc/%s: no value for %s" % (fname, ", ".join("@%s@" % n for n in sorted(missing))))
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def spawn_fcgi_command(text, fname):
    """The spawn-fcgi command a filled snippet shows (a comment line
    "#   env ... spawn-fcgi ..."), as an argv."""
    cmds = [ln.lstrip("#").strip() for ln in text.splitlines()
            if ln.startswith("#") and re.match(r"#\s+env\s.*\bspawn-fcgi\s", ln)]
    if len(cmds) != 1:
        raise WebError("etc/%s should show one `env ... spawn-fcgi ...` command, it has %d" % (
            fname, len(cmds)))
    return shlex.split(cmds[0])


# ---- processes ----------------------------------------------------------------

class Proc:
    """A child in its own session, its output appended to log_path."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as log:
            try:
                self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True,
                                          close_fds=True, env=env, cwd=cwd)
            except OSError as e:
                raise WebError("cannot start %s (%s): %s" % (name, argv[0], e)) from e

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.p.poll() is None:
            try:
                self.p.send_signal(sig)
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        # whatever is left of its session (children it did not reap)
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        return self.p.returncode


def session_pids(sid):
    """Pids of the processes in session sid (stragglers of a stopped
    server: responders that Apache or lighttpd started)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                fields = f.read().decode("utf-8", "replace").rsplit(")", 1)[-1].split()
        except OSError:
            continue
        # state ppid pgrp session ...
        if len(fields) > 3 and fields[3] == str(sid) and fields[0] != "Z":
            found.append(int(d))
    return found


# ---- deployments --------------------------------------------------------------

class Deployment:
    name = None
    program = None          # the server's executable
    package = None          # the Debian package that has it
    path = "/xmpp"          # the URL path the snippet serves
    snippets = ()           # etc/ files used verbatim

    def __init__(self, responder=None, label=None):
        self.responder_override = responder
        self.label = label or self.name
        self.stack = None
        self.dir = None
        self.port = None
        self.server = None
        self.helpers = []       # e.g. spawn-fcgi's responder
        self.helper_logs = []   # their logs, kept after stop()
        self.values = {}

    # -- interface --

    @property
    def url(self):
        return "http://127.0.0.1:%d%s" % (self.port, self.path)

    def alive(self):
        return self.server is not None and self.server.alive() and \
            all(h.alive() for h in self.helpers)

    def problems(self):
        bad = []
        for p in [self.server] + self.helpers:
            if p is not None and not p.alive():
                bad.append("%s (%s) exited with status %s" % (p.name, self.label, p.p.returncode))
        return bad

    def logs(self):
        """Files that get the responder's stderr (also after stop())."""
        return [self.error_log] + self.helper_logs + [self.console_log]

    @property
    def error_log(self):
        return os.path.join(self.dir, "error.log")

    @property
    def console_log(self):
        return os.path.join(self.dir, "console.log")

    def start(self, stack, timeout=15.0):
        if shutil.which(self.program) is None and not os.access(self.program, os.X_OK):
            raise WebError("%s needs %s, which is not installed (Debian: apt-get install %s)" % (
                self.name, self.program, self.package))
        self.stack = stack
        n = 0
        while True:
            self.dir = stack.path("web-%s%s" % (self.label, "-%d" % n if n else ""))
            if not os.path.exists(self.dir):
                break
            n += 1
        for d in ("", "www", "run", "libexec", "tmp"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
            os.chmod(os.path.join(self.dir, d), 0o755)
        self.port = free_port()
        while self.port in (stack.c2s_port, stack.component_port):
            self.port = free_port()
        responder = self.responder_override or stack.responder_bin
        # `make install` copies the responder; so do we
        self.libexec = os.path.join(self.dir, "libexec")
        shutil.copy(responder, os.path.join(self.libexec, "xmpp-rest.fcgi"))
        os.chmod(os.path.join(self.libexec, "xmpp-rest.fcgi"), 0o755)
        self.values = {
            "LIBEXECDIR": self.libexec,
            "CONF": stack.conf_path,
            "RUNDIR": os.path.join(self.dir, "run"),
            "CGIDIR": os.path.join(self.dir, "www", "cgi-bin"),
            "FCGI_SOCKET": os.path.join(self.dir, "run", "xmpp-rest-fcgi.sock"),
            "USER": web_user().pw_name,
        }
        try:
            self.prepare()
            self.launch()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not self.server.alive():
                    raise WebError("%s exited with status %s:\n%s\n%s" % (
                        self.program, self.server.p.returncode, tail(self.console_log),
                        tail(self.error_log)))
                if port_open(self.port):
                    return self
                time.sleep(0.05)
            raise WebError("%s did not listen on %d within %gs:\n%s" % (
                self.program, self.port, timeout, tail(self.error_log)))
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stops the server and what it started; what did not go by
        itself within a few seconds of SIGTERM is killed and named in
        self.left_behind."""
        self.left_behind = []
        if self.server is not None:
            sid = self.server.p.pid
            self.server.stop(self.stop_signal, timeout=15.0)
            # what the server started (responders) should follow it
            deadline = time.monotonic() + 3
            while session_pids(sid) and time.monotonic() < deadline:
                time.sleep(0.05)
            for pid in session_pids(sid):
                try:
                    with open("/proc/%d/cmdline" % pid, "rb") as f:
                        cmd = f.read().split(b"\0")[0].decode("utf-8", "replace")
                    os.kill(pid, signal.SIGKILL)
                    self.left_behind.append("%s (pid %d) still ran 3 s after %s stopped" % (
                        os.path.basename(cmd), pid, self.program.rsplit("/", 1)[-1]))
                except (OSError, ProcessLookupError):
                    pass
            self.server = None
            try:
                with open(self.error_log, errors="replace") as f:
                    self.left_behind += [ln.strip() for ln in f if "still did not exit" in ln]
            except OSError:
                pass
        for h in self.helpers:
            if h.stop(signal.SIGTERM, timeout=5.0) == -signal.SIGKILL:
                self.left_behind.append("the responder that %s started ignored SIGTERM for 5 s" %
                                        h.name)
        self.helpers = []

    left_behind = ()

    stop_signal = signal.SIGTERM

    # -- for the subclasses --

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def env(self):
        return dict(os.environ)

    def start_spawn_fcgi(self, text, fname):
        """Runs the snippet's spawn-fcgi command and waits for its socket."""
        argv = spawn_fcgi_command(text, fname)
        if shutil.which("spawn-fcgi") is None:
            raise WebError("%s needs spawn-fcgi, which is not installed (Debian: apt-get install "
                           "spawn-fcgi)" % self.name)
        sock = self.values["FCGI_SOCKET"]
        h = Proc("spawn-fcgi", argv, os.path.join(self.dir, "responder.log"), env=self.env(),
                 cwd=self.dir)
        self.helpers.append(h)
        self.helper_logs.append(h.log_path)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not h.alive():
                raise WebError("`%s` exited with status %s:\n%s" % (
                    " ".join(argv), h.p.returncode, tail(h.log_path)))
            if os.path.exists(sock):
                return
            time.sleep(0.05)
        raise WebError("`%s`: no socket %s after 10s" % (" ".join(argv), sock))

    def prepare(self):
        raise NotImplementedError

    def launch(self):
        raise NotImplementedError


# -- lighttpd -----------------------------------------------------------------------

class Lighttpd(Deployment):
    program = "lighttpd"
    package = "lighttpd"

    def prepare(self):
        www = os.path.join(self.dir, "www")
        conf = [
            "# written by tools/web.py: the server's own part; the snippets follow",
            'server.modules = ( "mod_access", "mod_accesslog", "mod_setenv" )',
            'server.bind = "127.0.0.1"',
            "server.port = %d" % self.port,
            "server.document-root = %s" % quote(self.docroot(www)),
            "server.errorlog = %s" % quote(self.error_log),
            "accesslog.filename = %s" % quote(os.path.join(self.dir, "access.log")),
            "server.upload-dirs = ( %s )" % quote(os.path.join(self.dir, "tmp")),
            'index-file.names = ( "index.html" )',
            'mimetype.assign = ( ".html" => "text/html" )',
        ]
        # The tests' sanitizer settings (not part of any snippet): mod_cgi
        # passes a CGI program only the request's variables and setenv's.
        env = ", ".join('"%s" => %s' % (k, quote(os.environ[k])) for k in SANITIZER_VARS
                        if k in os.environ)
        if env:
            conf.append("setenv.add-environment = ( %s )" % env)
        conf += self.fixture()
        for fname in self.snippets:
            conf.append('include %s' % quote(self.write(fname + ".filled", fill(fname, self.values))))
        if "@CGIDIR@" in "".join(read_snippet(f) for f in self.snippets):
            # what the snippet's header says to do: the responder as xmpp-rest.cgi
            os.makedirs(self.values["CGIDIR"], exist_ok=True)
            shutil.copy(os.path.join(self.libexec, "xmpp-rest.fcgi"),
                        os.path.join(self.values["CGIDIR"], "xmpp-rest.cgi"))
        self.conf = self.write("lighttpd.conf", "\n".join(conf) + "\n")

    def docroot(self, www):
        return www

    def fixture(self):
        return []

    def launch(self):
        r = subprocess.run(["lighttpd", "-tt", "-f", self.conf], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=30)
        if r.returncode != 0:
            raise WebError("lighttpd rejects %s:\n%s" % (self.conf, r.stdout.decode("utf-8", "replace")))
        self.server = Proc("lighttpd", ["lighttpd", "-D", "-f", self.conf], self.console_log,
                           env=self.env(), cwd=self.dir)


class LighttpdFcgi(Lighttpd):
    name = "lighttpd-fcgi"
    snippets = ("lighttpd-xmpp-rest.conf",)


class LighttpdCgi(Lighttpd):
    name = "lighttpd-cgi"
    path = "/cgi-bin/xmpp-rest.cgi"
    snippets = ("lighttpd-xmpp-rest-cgi.conf",)


class LighttpdStack(Lighttpd):
    """The stack's own server (`make run`, bench/run.py, the webhook
    suite): both lighttpd snippets, FastCGI at /xmpp and CGI at
    /cgi-bin/xmpp-rest.cgi, plus the tests' CGI directory: the stack's
    www/cgi/ at /cgi/ (the webhook suite's echo bot)."""
    name = "lighttpd"
    snippets = ("lighttpd-xmpp-rest.conf", "lighttpd-xmpp-rest-cgi.conf")

    @property
    def url_cgi(self):
        return "http://127.0.0.1:%d%s" % (self.port, LighttpdCgi.path)

    def docroot(self, www):
        d = self.stack.path("www")
        os.makedirs(os.path.join(d, "cgi"), exist_ok=True)
        index = os.path.join(d, "index.html")
        if not os.path.exists(index):
            with open(index, "w") as f:
                f.write("xmpp-rest test stack\n")
        return d

    def fixture(self):
        return ['server.modules += ( "mod_cgi" )',
                '$HTTP["url"] =~ "^/cgi/" {', '    cgi.assign = ( ".cgi" => "" )', '}']


# -- Apache -------------------------------------------------------------------------

class Apache(Deployment):
    program = "/usr/sbin/apache2"
    package = "apache2"
    stop_signal = signal.SIGTERM
    modules_package = {"fcgid": "libapache2-mod-fcgid"}

    def modules(self, text):
        """The modules to load: Debian's defaults plus what the snippet's
        header says to `a2enmod`, with what those depend on."""
        wanted = []
        for m in re.findall(r"a2enmod ([a-z_0-9 ]+)`", header(text)):
            wanted += m.split()
        if not wanted:
            raise WebError("etc/%s does not say which modules to enable (`a2enmod ...`)" %
                           self.snippets[0])
        order = []

        def add(m):
            if m in order:
                return
            load = os.path.join(APACHE_MODS, m + ".load")
            try:
                with open(load) as f:
                    txt = f.read()
            except OSError:
                raise WebError("%s: Apache module %s is not installed (%s)" % (
                    self.name, m, "Debian: apt-get install " + self.modules_package.get(m, "apache2"))) \
                    from None
            for dep in re.findall(r"^# Depends: (.*)$", txt, re.M):
                for d in dep.split():
                    add(d)
            order.append(m)
        for m in APACHE_DEFAULT_MODS + tuple(wanted):
            add(m)
        return order

    def prepare(self):
        fname = self.snippets[0]
        filled = fill(fname, self.values)
        www = os.path.join(self.dir, "www")
        run = os.path.join(self.dir, "run")
        os.makedirs(os.path.join(run, "socks"), exist_ok=True)
        fcgid = os.path.join(self.dir, "fcgid")
        os.makedirs(fcgid, exist_ok=True)
        give_to_web_user(fcgid)
        mods = self.modules(filled)
        conf = [
            "# written by tools/web.py: the server's own part, as Debian's",
            "# apache2.conf has it; the snippet is included at the end",
            "ServerRoot /etc/apache2",
            "Define APACHE_RUN_DIR %s" % quote(run),
            "Define APACHE_LOCK_DIR %s" % quote(run),
            "Define APACHE_LOG_DIR %s" % quote(self.dir),
            "PidFile %s" % quote(os.path.join(run, "apache2.pid")),
            "Mutex file:%s default" % run,
            "Timeout 300",
            "KeepAlive On",
            "Listen 127.0.0.1:%d" % self.port,
            "ServerName 127.0.0.1",
            "ErrorLog %s" % quote(self.error_log),
            "LogLevel warn",
            'LogFormat "%h %l %u %t \\"%r\\" %>s %O" common',
            "CustomLog %s common" % quote(os.path.join(self.dir, "access.log")),
            "DefaultRuntimeDir %s" % quote(run),
            "HostnameLookups Off",
            "AccessFileName .htaccess",
        ]
        if as_root():
            conf += ["User %s" % WEB_USER, "Group %s" % web_group_name()]
        for m in mods:
            conf.append("Include %s" % os.path.join(APACHE_MODS, m + ".load"))
            if os.path.exists(os.path.join(APACHE_MODS, m + ".conf")):
                conf.append("Include %s" % os.path.join(APACHE_MODS, m + ".conf"))
        if "fcgid" in mods:
            conf += ["FcgidIPCDir %s" % quote(fcgid),
                     "FcgidProcessTableFile %s" % quote(os.path.join(run, "fcgid_shm"))]
        conf += [
            "<Directory />", "    Options FollowSymLinks", "    AllowOverride None",
            "    Require all denied", "</Directory>",
            '<FilesMatch "^\\.ht">', "    Require all denied", "</FilesMatch>",
            "DocumentRoot %s" % quote(www),
            "<Directory %s>" % quote(www),
            "    Options Indexes FollowSymLinks",
            "    AllowOverride %s" % self.allow_override,
            "    Require all granted",
            "</Directory>",
        ]
        # The tests' sanitizer settings (not part of any snippet): CGI
        # programs get PassEnv's variables, mod_fcgid's processes only
        # FcgidInitialEnv's.
        present = [k for k in SANITIZER_VARS if k in os.environ]
        if present:
            conf.append("PassEnv %s" % " ".join(present))
            if "fcgid" in mods:
                conf += ["FcgidInitialEnv %s %s" % (k, quote(os.environ[k])) for k in present]
        conf += self.extra(filled, www)
        if self.in_server_conf:
            conf.append("Include %s" % quote(self.write(fname + ".filled", filled)))
        self.conf = self.write("apache2.conf", "\n".join(conf) + "\n")

    allow_override = "None"
    in_server_conf = True       # the snippet goes into the server's configuration

    def extra(self, filled, www):
        return []

    def launch(self):
        env = self.env()
        env.setdefault("LANG", "C")
        r = subprocess.run([self.program, "-f", self.conf, "-t"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=30, env=env)
        if r.returncode != 0:
            raise WebError("apache2 rejects %s:\n%s" % (self.conf, r.stdout.decode("utf-8", "replace")))
        self.server = Proc("apache2", [self.program, "-f", self.conf, "-DFOREGROUND"],
                           self.console_log, env=env, cwd=self.dir)


class ApacheFcgid(Apache):
    name = "apache-fcgid"
    snippets = ("apache-xmpp-rest-fcgid.conf",)


class ApacheProxyFcgi(Apache):
    name = "apache-proxy-fcgi"
    snippets = ("apache-xmpp-rest-proxy-fcgi.conf",)

    def launch(self):
        self.start_spawn_fcgi(fill(self.snippets[0], self.values), self.snippets[0])
        super().launch()


class ApacheCgi(Apache):
    """Shared hosting: etc/htaccess next to xmpp-rest.cgi in a directory of
    the web space, which allows what the htaccess header asks for."""
    name = "apache-cgi"
    path = "/xmpp/xmpp-rest.cgi"
    snippets = ("htaccess",)
    allow_override = "Options=ExecCGI FileInfo AuthConfig"
    in_server_conf = False      # it is the .htaccess

    def extra(self, filled, www):
        d = os.path.join(www, "xmpp")
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(self.libexec, "xmpp-rest.fcgi"), os.path.join(d, "xmpp-rest.cgi"))
        with open(os.path.join(d, ".htaccess"), "w") as f:
            f.write(filled)
        return []


# -- nginx ---------------------------------------------------------------------------

class Nginx(Deployment):
    name = "nginx"
    program = "/usr/sbin/nginx"
    package = "nginx"
    snippets = ("nginx-xmpp-rest.conf",)
    stop_signal = signal.SIGQUIT

    def prepare(self):
        fname = self.snippets[0]
        filled = fill(fname, self.values)
        self.filled = filled
        tmp = os.path.join(self.dir, "tmp")
        # nginx resolves a relative include (the snippet's fastcgi_params)
        # against the directory of its configuration: /etc/nginx on Debian
        for f in ("fastcgi_params", "mime.types"):
            os.symlink(os.path.join("/etc/nginx", f), os.path.join(self.dir, f))
        conf = [
            "# written by tools/web.py: the server's own part, as Debian's",
            "# nginx.conf has it; the snippet is included in the server block",
        ]
        if as_root():
            conf.append("user root root;")
        conf += [
            "worker_processes 2;",
            "daemon off;",
            "pid %s;" % quote(os.path.join(self.dir, "run", "nginx.pid")),
            "error_log %s warn;" % quote(self.error_log),
            "events { worker_connections 768; }",
            "http {",
            "    include mime.types;",
            "    default_type application/octet-stream;",
            "    access_log %s;" % quote(os.path.join(self.dir, "access.log")),
            "    client_body_temp_path %s;" % quote(os.path.join(tmp, "body")),
            "    fastcgi_temp_path %s;" % quote(os.path.join(tmp, "fastcgi")),
            "    proxy_temp_path %s;" % quote(os.path.join(tmp, "proxy")),
            "    uwsgi_temp_path %s;" % quote(os.path.join(tmp, "uwsgi")),
            "    scgi_temp_path %s;" % quote(os.path.join(tmp, "scgi")),
            "    server {",
            "        listen 127.0.0.1:%d;" % self.port,
            "        server_name localhost;",
            "        root %s;" % quote(os.path.join(self.dir, "www")),
            "        include %s;" % quote(self.write(fname + ".filled", filled)),
            "    }",
            "}",
        ]
        self.conf = self.write("nginx.conf", "\n".join(conf) + "\n")

    def launch(self):
        self.start_spawn_fcgi(self.filled, self.snippets[0])
        argv = [self.program, "-e", self.error_log, "-p", self.dir + "/", "-c", self.conf]
        r = subprocess.run(argv + ["-t"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=30)
        if r.returncode != 0:
            raise WebError("nginx rejects %s:\n%s" % (self.conf, r.stdout.decode("utf-8", "replace")))
        self.server = Proc("nginx", argv, self.console_log, env=self.env(), cwd=self.dir)


DEPLOYMENTS = ("lighttpd-fcgi", "lighttpd-cgi", "apache-fcgid", "apache-proxy-fcgi",
               "apache-cgi", "nginx")
_CLASSES = {c.name: c for c in (LighttpdFcgi, LighttpdCgi, LighttpdStack, ApacheFcgid,
                                ApacheProxyFcgi, ApacheCgi, Nginx)}


def make(name, responder=None, label=None):
    try:
        cls = _CLASSES[name]
    except KeyError:
        raise WebError("no deployment %r (there are: %s)" % (name, ", ".join(sorted(_CLASSES)))) from None
    return cls(responder=responder, label=label)
