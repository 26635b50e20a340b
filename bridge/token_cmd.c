/*
 * The credentials command line: `token add|list|revoke` and
 * `password add|list|revoke`.
 *
 * A change is a read-modify-write of the whole file under an exclusive
 * flock on "PATH.lock", so two commands never lose each other's entry.
 * The new file is written beside the old one, synced, then renamed over
 * it: the bridge, which re-reads the file when it changes, sees the old
 * file or the new one, never half of one.  A token is shown once, on
 * stdout, and only its SHA-256 is stored; a password is stored as a
 * yescrypt hash.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "conf.h"
#include "creds.h"
#include "rate.h"
#include "token_cmd.h"
#include "util.h"

#define TOKEN_PREFIX "xr_"
#define TOKEN_BYTES 32 /* 256 bits from the CSPRNG */
#define TOKEN_LEN (sizeof(TOKEN_PREFIX) - 1 + (TOKEN_BYTES * 4 + 2) / 3)

/* What the add subcommands take besides the name. */
struct add_opts {
	char **from;
	size_t nfrom;
	unsigned long kinds; /* 0: not given */
	int64_t expires;     /* 0: not given */
	unsigned long rate;  /* submits per second; 0: not given */
};

static volatile sig_atomic_t got_signal;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	fputs("xmpp-restd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
usage(const char *cmd)
{
	fprintf(stderr,
	    "usage: xmpp-restd [-c file] %s add NAME [--from JID[,JID...]]... "
	    "[--kinds KINDS]\n"
	    "           [--expires YYYY-MM-DD[THH:MM:SSZ]] [--rate N/s]\n"
	    "       xmpp-restd [-c file] %s list\n"
	    "       xmpp-restd [-c file] %s revoke NAME\n",
	    cmd, cmd, cmd);
	return 2;
}

static void
free_opts(struct add_opts *o)
{
	for (size_t i = 0; i < o->nfrom; i++)
		free(o->from[i]);
	free(o->from);
	memset(o, 0, sizeof(*o));
}

static int
days_in_month(unsigned y, unsigned m)
{
	static const int days[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return days[m - 1] + (m == 2 && leap);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, y >= 1970);
 * H. Hinnant's days_from_civil, so no timegm() is needed. */
static int64_t
days_from_civil(unsigned y, unsigned m, unsigned d)
{
	unsigned yy = m <= 2 ? y - 1 : y;
	unsigned era = yy / 400, yoe = yy % 400;
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

static unsigned
digits(const char *s, size_t n)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

/* "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ" into Unix time. */
static int
parse_date(const char *s, int64_t *out)
{
	static const char full[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t len = strlen(s);
	unsigned y, mo, d, h = 0, mi = 0, sec = 0;

	if (len != 10 && len != sizeof(full) - 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (full[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != full[i])
			return -1;
	}
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (len > 10) {
		h = digits(s + 11, 2);
		mi = digits(s + 14, 2);
		sec = digits(s + 17, 2);
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > (unsigned)days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 +
	    (int64_t)mi * 60 + sec;
	return 0;
}

static void
fmt_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}

/* Adds the comma-separated patterns of one --from to o (free_opts frees
 * them, a refused one too). */
static int
add_from(const struct conf *c, struct add_opts *o, const char *arg)
{
	char err[XR_ERRLEN];
	char **v;

	for (;;) {
		size_t len = strcspn(arg, ",");

		if ((v = realloc(o->from, (o->nfrom + 1) * sizeof(*v))) ==
		    NULL) {
			say("out of memory");
			return -1;
		}
		o->from = v;
		if ((v[o->nfrom] = strndup(arg, len)) == NULL) {
			say("out of memory");
			return -1;
		}
		if (!creds_pattern_ok(
			v[o->nfrom++], c->jid, err, sizeof(err))) {
			say("--from: %s", err);
			return -1;
		}
		if (arg[len] == '\0')
			return 0;
		arg += len + 1;
	}
}

/*
 * The value of option name at argv[*i], as "--name VALUE" or
 * "--name=VALUE": 1 (and *i moved past it), 0 if argv[*i] is another
 * option, -1 if the value is missing.
 */
static int
opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* The options after NAME: 0, 1 (bad value, said) or 2 (usage, said). */
static int
parse_opts(const struct conf *c, const char *cmd, int argc, char **argv,
    struct add_opts *o)
{
	char err[XR_ERRLEN];
	const char *v = ""; /* set by opt_value when it returns 1 */

	for (int i = 0; i < argc; i++) {
		int r;

		if ((r = opt_value(argc, argv, &i, "--from", &v)) == 1) {
			if (add_from(c, o, v) < 0)
				return 1;
		} else if (r == 0 &&
		    (r = opt_value(argc, argv, &i, "--kinds", &v)) == 1) {
			if (o->kinds != 0) {
				say("--kinds given twice");
				return usage(cmd);
			}
			if (creds_kinds_parse(v, &o->kinds, err, sizeof(err)) <
			    0) {
				say("--kinds: %s", err);
				return 1;
			}
		} else if (r == 0 &&
		    (r = opt_value(argc, argv, &i, "--expires", &v)) == 1) {
			if (o->expires != 0) {
				say("--expires given twice");
				return usage(cmd);
			}
			if (parse_date(v, &o->expires) < 0) {
				say("--expires: '%.64s' is not YYYY-MM-DD or "
				    "YYYY-MM-DDTHH:MM:SSZ (UTC)",
				    v);
				return 1;
			}
			if (o->expires <= (int64_t)time(NULL)) {
				say("--expires: %.64s is not in the future", v);
				return 1;
			}
		} else if (r == 0 &&
		    (r = opt_value(argc, argv, &i, "--rate", &v)) == 1) {
			if (o->rate != 0) {
				say("--rate given twice");
				return usage(cmd);
			}
			if (rate_parse(v, &o->rate, err, sizeof(err)) < 0) {
				say("--rate: %s", err);
				return 1;
			}
		} else if (r < 0) {
			say("%s needs a value", argv[i]);
			return usage(cmd);
		} else {
			say("unknown option '%.64s'", argv[i]);
			return usage(cmd);
		}
	}
	return 0;
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/*
 * One line from fd 0 into buf (NUL-ended, no newline): its length, -1 on
 * a read error or signal, -2 if longer than size - 1 bytes.  Read a byte
 * at a time, so that nothing after the line is consumed.
 */
static ssize_t
read_line(char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		char ch;
		ssize_t r = read(STDIN_FILENO, &ch, 1);

		if (r < 0 && errno == EINTR && !got_signal)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || ch == '\n')
			break;
		if (n + 1 >= size)
			return -2;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

/*
 * Prompts on stderr and reads a line with echo off.  A signal while echo
 * is off restores the terminal first, then is raised again, as
 * readpassphrase(3) does.
 */
static ssize_t
read_hidden(const char *prompt, char *buf, size_t size)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	struct sigaction sa, old[4];
	struct termios term, quiet;
	ssize_t n;

	if (tcgetattr(STDIN_FILENO, &term) < 0)
		return read_line(buf, size);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: read() must return */
	sigemptyset(&sa.sa_mask);
	got_signal = 0;
	/* A signal ignored at start (nohup) stays ignored. */
	for (size_t i = 0; i < 4; i++) {
		sigaction(sigs[i], NULL, &old[i]);
		if (old[i].sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
	quiet = term;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	fputs(prompt, stderr);
	fflush(stderr);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	n = read_line(buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &term);
	for (size_t i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (got_signal) {
		OPENSSL_cleanse(buf, size);
		raise(got_signal);
		return -1;
	}
	return n;
}

static int
check_read(ssize_t n, const char *buf)
{
	if (n == -2) {
		say("password longer than %d bytes", CREDS_PASSWORD_MAX);
		return -1;
	}
	if (n < 0) {
		say("reading the password: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		say("empty password");
		return -1;
	}
	/* crypt(3) would stop at the NUL and ignore the rest. */
	if (strlen(buf) != (size_t)n) {
		say("password contains a NUL byte");
		return -1;
	}
	return 0;
}

/* The password from stdin: twice, unechoed, from a terminal; else the
 * first line.  0, or -1 (said). */
static int
get_password(const char *name, char *pw, char *again, size_t size)
{
	char prompt[CREDS_NAME_MAX + 32];
	ssize_t n;

	if (!isatty(STDIN_FILENO))
		return check_read(read_line(pw, size), pw);
	snprintf(prompt, sizeof(prompt), "Password for %s: ", name);
	if (check_read(read_hidden(prompt, pw, size), pw) < 0)
		return -1;
	n = read_hidden("Again: ", again, size);
	if (n == -1) {
		say("reading the password: %s", strerror(errno));
		return -1;
	}
	if (n < 0 || strlen(pw) != (size_t)n ||
	    memcmp(pw, again, (size_t)n) != 0) {
		say("the passwords do not match");
		return -1;
	}
	return 0;
}

/* A yescrypt hash of pw at libxcrypt's default cost (malloc'd). */
static char *
hash_password(const char *pw)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;
	char *out = NULL;

	if (cd == NULL) {
		say("out of memory");
		return NULL;
	}
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) ==
	    NULL) {
		say("crypt_gensalt_rn: %s", strerror(errno));
		goto done;
	}
	h = crypt_rn(pw, setting, cd, (int)sizeof(*cd));
	if (h == NULL || h[0] == '*') {
		say("crypt_rn failed");
		goto done;
	}
	if ((out = strdup(h)) == NULL)
		say("out of memory");
done:
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return out;
}

/* base64url without padding (RFC 4648 §5) of n bytes; out has room. */
static void
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"abcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i = 0, o = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = a[v >> 10 & 63];
		out[o++] = a[v >> 4 & 63];
		out[o++] = a[(v & 15) << 2];
	}
	out[o] = '\0';
}

/* "xr_" and 256 random bits; 0, or -1 (said). */
static int
make_token(char token[TOKEN_LEN + 1])
{
	unsigned char raw[TOKEN_BYTES];

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		say("RAND_bytes failed");
		return -1;
	}
	memcpy(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
	b64url(raw, sizeof(raw), token + sizeof(TOKEN_PREFIX) - 1);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

/* path + suffix, malloc'd; NULL (said) when out of memory. */
static char *
path_with(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 1;
	char *p = malloc(n);

	if (p == NULL)
		say("out of memory");
	else
		snprintf(p, n, "%s%s", path, suffix);
	return p;
}

/* An exclusive lock on PATH.lock, held until the fd is closed. */
static int
lock_creds(const char *path)
{
	char *lpath = path_with(path, ".lock");
	int fd;

	if (lpath == NULL)
		return -1;
	fd = open(lpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		say("%s: %s", lpath, strerror(errno));
		free(lpath);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			say("locking %s: %s", lpath, strerror(errno));
			close(fd);
			free(lpath);
			return -1;
		}
	}
	free(lpath);
	return fd;
}

/* Run as root: the new file goes to the account the daemon drops to. */
static int
give_to_user(const struct conf *c, int fd, const char *tmp)
{
	struct passwd *pw;
	struct group *gr;
	gid_t gid;

	if (geteuid() != 0 || c->user == NULL)
		return 0;
	if ((pw = getpwnam(c->user)) == NULL) {
		say("unknown user '%s' (user in the configuration)", c->user);
		return -1;
	}
	gid = pw->pw_gid;
	if (c->group != NULL) {
		if ((gr = getgrnam(c->group)) == NULL) {
			say("unknown group '%s' (group in the configuration)",
			    c->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (fchown(fd, pw->pw_uid, gid) < 0) {
		say("chown %s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* Makes the rename durable.  The change is made already, so a failure
 * is only a warning. */
static void
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (fsync(fd) < 0 && errno != EINVAL))
		say("warning: syncing %s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
}

/*
 * set in the file format (malloc'd), once it is known to read back: the
 * bridge must never be handed a file it refuses (a line too long for
 * CREDS_LINE_MAX, say, after many --from patterns).
 */
static char *
serialize(const struct conf *c, const struct creds *set, size_t *len)
{
	char err[XR_ERRLEN];
	struct creds again;
	char *text = NULL;
	FILE *fp = open_memstream(&text, len);

	if (fp == NULL || creds_write(set, fp) < 0 || fclose(fp) != 0) {
		say("out of memory");
		free(text);
		return NULL;
	}
	if (creds_parse(text, *len, c->jid, &again, err, sizeof(err)) < 0 ||
	    again.n != set->n) {
		say("the new file would not read back (line %s); nothing "
		    "changed",
		    err);
		creds_free(&again);
		free(text);
		return NULL;
	}
	creds_free(&again);
	return text;
}

/* Replaces the file with set: written aside, synced, renamed over it. */
static int
store(const struct conf *c, const struct creds *set)
{
	const char *path = c->credentials_file;
	char *tmp, *text;
	size_t len = 0;
	int fd;

	if ((text = serialize(c, set, &len)) == NULL)
		return -1;
	if ((tmp = path_with(path, ".XXXXXX")) == NULL) {
		free(text);
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		say("%s: %s", tmp, strerror(errno));
		free(tmp);
		free(text);
		return -1;
	}
	if (fchmod(fd, 0600) < 0) {
		say("chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (give_to_user(c, fd, tmp) < 0)
		goto fail;
	if (xr_write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		say("writing %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		say("writing %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		say("rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	free(tmp);
	free(text);
	sync_dir(path);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	free(text);
	return -1;
}

/* Reads the file (missing is empty): 0, or -1 (said). */
static int
load(const struct conf *c, struct creds *set)
{
	char err[XR_ERRLEN * 2];

	if (creds_load(c->credentials_file, c->jid, set, err, sizeof(err)) <
	    0) {
		say("%s", err);
		return -1;
	}
	return 0;
}

static int
exists(const struct creds *set, const char *name)
{
	if (creds_find(set, name) == NULL)
		return 0;
	say("a credential named %s exists; revoke it first", name);
	return 1;
}

/* Adds cr (taking its strings) under the lock: 0, or 1 (said). */
static int
commit_add(const struct conf *c, struct cred *cr)
{
	struct creds set;
	int lock, rc = 1;

	if ((lock = lock_creds(c->credentials_file)) < 0)
		return 1;
	if (load(c, &set) < 0)
		goto done;
	if (exists(&set, cr->name))
		goto done;
	if (creds_append(&set, cr) < 0) {
		say("out of memory");
		goto done;
	}
	if (store(c, &set) == 0)
		rc = 0;
done:
	creds_free(&set);
	close(lock);
	return rc;
}

/* Builds the entry; the secret (hash) comes from the caller. */
static void
fill_cred(struct cred *cr, enum cred_scheme scheme, struct add_opts *o)
{
	cr->scheme = scheme;
	cr->from = o->from;
	cr->nfrom = o->nfrom;
	o->from = NULL;
	o->nfrom = 0;
	cr->kinds = o->kinds
	    ? o->kinds
	    : CONF_KIND_MESSAGE | CONF_KIND_PRESENCE | CONF_KIND_IQ;
	cr->expires = o->expires;
	cr->rate = o->rate;
	cr->created = (int64_t)time(NULL);
}

static int
add_token(const struct conf *c, const char *name, struct add_opts *o)
{
	char token[TOKEN_LEN + 1], hex[CREDS_HASH_HEX + 1];
	struct cred cr;
	int rc = 1;

	memset(&cr, 0, sizeof(cr));
	if (make_token(token) < 0)
		return 1;
	if (creds_hash_token(token, strlen(token), hex) < 0) {
		say("SHA-256 failed");
		goto done;
	}
	fill_cred(&cr, CRED_BEARER, o);
	if ((cr.name = strdup(name)) == NULL ||
	    (cr.hash = strdup(hex)) == NULL) {
		say("out of memory");
		goto done;
	}
	if (commit_add(c, &cr) != 0)
		goto done;
	/* Written only now, once it is stored; a failed write means the
	 * token is lost, and the caller must know. */
	if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
		say("could not write the token to stdout (%s); revoke %s",
		    strerror(errno), name);
		goto done;
	}
	say("added bearer token %s to %s; only its hash is stored, so it "
	    "will not be shown again",
	    name, c->credentials_file);
	rc = 0;
done:
	OPENSSL_cleanse(token, sizeof(token));
	cred_clear(&cr);
	return rc;
}

static int
add_password(const struct conf *c, const char *name, struct add_opts *o)
{
	char pw[CREDS_PASSWORD_MAX + 1], again[CREDS_PASSWORD_MAX + 1];
	struct creds set;
	struct cred cr;
	int rc = 1;

	memset(&cr, 0, sizeof(cr));
	/* Checked before asking, not only under the lock after. */
	if (load(c, &set) < 0)
		return 1;
	if (exists(&set, name)) {
		creds_free(&set);
		return 1;
	}
	creds_free(&set);
	if (get_password(name, pw, again, sizeof(pw)) < 0)
		goto done;
	fill_cred(&cr, CRED_BASIC, o);
	if ((cr.name = strdup(name)) == NULL) {
		say("out of memory");
		goto done;
	}
	if ((cr.hash = hash_password(pw)) == NULL)
		goto done;
	if (commit_add(c, &cr) != 0)
		goto done;
	say("added basic credential %s to %s", name, c->credentials_file);
	rc = 0;
done:
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(again, sizeof(again));
	cred_clear(&cr);
	return rc;
}

static int
cmd_add(const struct conf *c, const char *cmd, int argc, char **argv)
{
	struct add_opts o;
	int rc;

	if (argc < 3)
		return usage(cmd);
	memset(&o, 0, sizeof(o));
	if (!creds_name_ok(argv[2])) {
		say("bad name '%.64s': use 1 to %d characters of A-Z a-z 0-9 "
		    ". _ -",
		    argv[2], CREDS_NAME_MAX);
		return 1;
	}
	if ((rc = parse_opts(c, cmd, argc - 3, argv + 3, &o)) != 0) {
		free_opts(&o);
		return rc;
	}
	if (strcmp(cmd, "token") == 0)
		rc = add_token(c, argv[2], &o);
	else
		rc = add_password(c, argv[2], &o);
	free_opts(&o);
	return rc;
}

static int
cmd_list(const struct conf *c)
{
	char err[XR_ERRLEN * 2];
	struct creds set;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if ((rc = creds_load(
		 c->credentials_file, c->jid, &set, err, sizeof(err))) < 0) {
		say("%s", err);
		return 1;
	}
	if (rc == 1)
		say("no credentials yet: %s does not exist",
		    c->credentials_file);
	rc = 0;
	for (size_t i = 0; i < set.n; i++) {
		const struct cred *cr = &set.v[i];
		static const char *const kinds[] = {
		    "message", "presence", "iq"};
		char exp[32] = "never", cre[32] = "-";
		const char *sep = "";

		printf("%s\t%s\t", cr->name,
		    cr->scheme == CRED_BEARER ? "bearer" : "basic");
		for (size_t j = 0; j < cr->nfrom; j++)
			printf("%s%s", j ? "," : "", cr->from[j]);
		if (cr->nfrom == 0)
			putchar('*');
		putchar('\t');
		for (size_t j = 0; j < 3; j++) {
			if (cr->kinds & (1UL << j)) {
				printf("%s%s", sep, kinds[j]);
				sep = ",";
			}
		}
		if (cr->expires != 0)
			fmt_time(cr->expires, exp, sizeof(exp));
		if (cr->created != 0)
			fmt_time(cr->created, cre, sizeof(cre));
		printf("\t%s%s\t%s\n", exp,
		    cred_expired(cr, now) ? " (expired)" : "", cre);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		say("writing to stdout: %s", strerror(errno));
		rc = 1;
	}
	creds_free(&set);
	return rc;
}

static int
cmd_revoke(const struct conf *c, const char *name)
{
	struct creds set;
	const struct cred *cr;
	const char *scheme;
	int lock, rc = 1;

	if ((lock = lock_creds(c->credentials_file)) < 0)
		return 1;
	if (load(c, &set) < 0)
		goto done;
	if ((cr = creds_find(&set, name)) == NULL) {
		say("no credential named %.64s in %s", name,
		    c->credentials_file);
		goto done;
	}
	scheme = cr->scheme == CRED_BEARER ? "bearer" : "basic";
	creds_remove(&set, name);
	if (store(c, &set) < 0)
		goto done;
	say("revoked %s credential %s", scheme, name);
	rc = 0;
done:
	creds_free(&set);
	close(lock);
	return rc;
}

int
token_cmd(const struct conf *c, int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : "token";

	if (argc < 1 ||
	    (strcmp(cmd, "token") != 0 && strcmp(cmd, "password") != 0))
		return usage("token");
	if (argc < 2)
		return usage(cmd);
	if (c->credentials_file == NULL) {
		say("no credentials_file in the configuration");
		return 1;
	}
	if (strcmp(argv[1], "add") == 0)
		return cmd_add(c, cmd, argc, argv);
	if (strcmp(argv[1], "list") == 0)
		return argc == 2 ? cmd_list(c) : usage(cmd);
	if (strcmp(argv[1], "revoke") == 0)
		return argc == 3 ? cmd_revoke(c, argv[2]) : usage(cmd);
	say("unknown command '%.64s'", argv[1]);
	return usage(cmd);
}
