"""What every web-server deployment of tools/web.py is built from: the
snippets of etc/ with their placeholders filled in, the user the servers'
children run as, the sanitizer settings they are handed, their processes,
and class Deployment, which starts a server on 127.0.0.1 and a free port in
a directory of the stack's own and stops it with all it started.

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
WEB_USER = "www-data"
SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS")

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


def proc_stats():
    """(pid, fields) of every process, fields being what /proc/PID/stat
    has after the command's name: state ppid pgrp session ..."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                fields = f.read().decode("utf-8", "replace").rsplit(")", 1)[-1].split()
        except OSError:
            continue
        yield int(d), fields


def session_pids(sid):
    """Pids of the processes in session sid (stragglers of a stopped
    server: responders that Apache or lighttpd started)."""
    return [pid for pid, fields in proc_stats()
            if len(fields) > 3 and fields[3] == str(sid) and fields[0] != "Z"]


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
