"""What every part of the local stack (tools/stack.py) is made of: its
error, and a child process started in a session of its own, its output
in a log file.  Only the standard library is used."""

import os
import signal
import subprocess


class StackError(RuntimeError):
    pass


class Proc:
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
            self.kill(sig, term_group)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL, group)
                self.p.wait()
        if group:
            # ... then whatever is left in its process group.
            self.kill(signal.SIGKILL, True)
        self.log.close()
        return self.p.returncode

    def kill(self, sig, group):
        """sig to the leader, or with group to its whole process group;
        one that has gone already is no error."""
        try:
            if group:
                os.killpg(self.p.pid, sig)   # our own session: pgid == pid
            else:
                self.p.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass
