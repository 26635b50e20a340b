/*
 * The credentials file.  One credential per line; lines that are blank or
 * whose first non-blank character is '#' are ignored.  Fields are
 * separated by exactly one space or tab:
 *
 *   NAME SCHEME HASH [from=PAT,...] [kinds=K,...] [expires=T] [created=T]
 *        [rate=N/s]
 *
 * NAME is 1..CREDS_NAME_MAX bytes of [A-Za-z0-9._-], unique in the file.
 * SCHEME is "bearer" (HASH: 64 lower-case hex digits, the SHA-256 of the
 * whole token) or "basic" (HASH: a yescrypt "$y$" or sha512-crypt "$6$"
 * crypt(3) string).  Without from= the credential may send as any JID of
 * the bridge's domain; with it, only as one the patterns allow (an exact
 * JID; "*@DOMAIN", any JID with a localpart; or "LOCAL@DOMAIN" with "*"
 * as its resource, that bare JID and any of its resources; always under
 * the bridge's own domain).  Without kinds=, every kind.  T is Unix time in seconds.
 * Without rate=, no limit (so files from before rate= load unchanged).
 *
 * Every option must be known and appear once, so that a typo is an error
 * rather than a credential that quietly allows more than meant.  Nothing
 * here holds a secret in the clear: a token is compared by its hash, a
 * password through crypt(3).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "conf.h"
#include "creds.h"
#include "jid.h"
#include "privfile.h"
#include "rate.h"
#include "util.h"

#define QUOTE_MAX 64 /* bytes of input an error message echoes */

_Static_assert(CREDS_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
    "crypt_rn must take every password we accept");

static const char *const kind_names[] = {"message", "presence", "iq"};
static const unsigned long kind_bits[] = {
    CONF_KIND_MESSAGE, CONF_KIND_PRESENCE, CONF_KIND_IQ};
#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))
#define ALL_KINDS (CONF_KIND_MESSAGE | CONF_KIND_PRESENCE | CONF_KIND_IQ)

enum opt { OPT_FROM, OPT_KINDS, OPT_EXPIRES, OPT_CREATED, OPT_RATE, OPT_N };
static const char *const opt_names[OPT_N] = {
    "from", "kinds", "expires", "created", "rate"};

/*
 * Copies at most QUOTE_MAX bytes of s for an error message, printable
 * ASCII only (anything else becomes '?'): errors end up in logs, which
 * must not receive raw bytes of a file.
 */
static void
quote(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t n = 0, i;

	if (dstlen == 0)
		return;
	for (i = 0; i < len && i < QUOTE_MAX && n + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			dst[n++] = s[i];
		else
			dst[n++] = '?';
	}
	if (i < len && n + 4 < dstlen) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

int
creds_name_ok(const char *name)
{
	size_t len;

	if (name == NULL)
		return 0;
	len = strnlen(name, CREDS_NAME_MAX + 1);
	if (len == 0 || len > CREDS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == '-'))
			return 0;
	}
	return 1;
}

static int
star_error(const char *q, const char *domain, char *err, size_t errlen)
{
	snprintf(err, errlen,
	    "pattern '%s': '*' may only be the whole localpart (*@%s) or "
	    "the whole resource (LOCAL@%s/*)",
	    q, domain, domain);
	return 0;
}

int
creds_pattern_ok(
    const char *pattern, const char *domain, char *err, size_t errlen)
{
	char q[QUOTE_MAX + 4], jerr[XR_ERRLEN];
	char head[CREDS_LINE_MAX + 1];
	struct jid_parts p;
	size_t len;

	if (pattern == NULL || *pattern == '\0') {
		snprintf(err, errlen, "empty pattern");
		return 0;
	}
	len = strlen(pattern);
	quote(q, sizeof(q), pattern, len);
	if (domain == NULL || *domain == '\0') {
		snprintf(err, errlen,
		    "pattern '%s': no domain to check it against (set jid)", q);
		return 0;
	}
	/* They could not be written back: the file splits on them. */
	if (strpbrk(pattern, " \t,") != NULL) {
		snprintf(err, errlen,
		    "pattern '%s': a space, tab or comma cannot be in a "
		    "pattern",
		    q);
		return 0;
	}
	if (strncmp(pattern, "*@", 2) == 0) {
		const char *rest = pattern + 2;

		if (strchr(rest, '*') != NULL)
			return star_error(q, domain, err, errlen);
		if (strchr(rest, '/') != NULL) {
			snprintf(err, errlen,
			    "pattern '%s': *@%s covers every resource; "
			    "it takes none",
			    q, domain);
			return 0;
		}
		if (!jid_span_eq_fold(
			rest, strlen(rest), domain, strlen(domain))) {
			snprintf(err, errlen, "pattern '%s': not under %s", q,
			    domain);
			return 0;
		}
		return 1;
	}
	if (len >= 2 && strcmp(pattern + len - 2, "/*") == 0) {
		if (len - 2 >= sizeof(head)) {
			snprintf(err, errlen, "pattern '%s': too long", q);
			return 0;
		}
		memcpy(head, pattern, len - 2);
		head[len - 2] = '\0';
		if (strpbrk(head, "*/") != NULL)
			return star_error(q, domain, err, errlen);
		if (strchr(head, '@') == NULL) {
			snprintf(err, errlen,
			    "pattern '%s': LOCAL@%s/* needs a localpart", q,
			    domain);
			return 0;
		}
		pattern = head;
	} else if (strchr(pattern, '*') != NULL) {
		return star_error(q, domain, err, errlen);
	}
	if (jid_check(pattern, jerr, sizeof(jerr)) < 0) {
		snprintf(err, errlen, "pattern '%s': %s", q, jerr);
		return 0;
	}
	jid_split(pattern, &p);
	if (!jid_span_eq_fold(p.domain, p.dlen, domain, strlen(domain))) {
		snprintf(err, errlen, "pattern '%s': not under %s", q, domain);
		return 0;
	}
	return 1;
}

int
creds_kinds_parse(const char *s, unsigned long *kinds, char *err, size_t errlen)
{
	unsigned long bits = 0;
	const char *p = s;

	for (;;) {
		size_t n = strcspn(p, ",");
		size_t i;

		if (n == 0) {
			snprintf(err, errlen, "empty kind in kinds=");
			return -1;
		}
		for (i = 0; i < NKINDS; i++) {
			if (strlen(kind_names[i]) == n &&
			    memcmp(kind_names[i], p, n) == 0)
				break;
		}
		if (i == NKINDS) {
			char q[QUOTE_MAX + 4];

			quote(q, sizeof(q), p, n);
			snprintf(err, errlen,
			    "unknown kind '%s' (message, presence or iq)", q);
			return -1;
		}
		bits |= kind_bits[i];
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	*kinds = bits;
	return 0;
}

static int
bearer_hash_ok(const char *h)
{
	size_t i;

	for (i = 0; h[i] != '\0'; i++) {
		if (!((h[i] >= '0' && h[i] <= '9') ||
			(h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	}
	return i == CREDS_HASH_HEX;
}

/*
 * A yescrypt ("$y$PARAMS$SALT$HASH") or sha512-crypt
 * ("$6$[rounds=N$]SALT$HASH") string, in crypt(3)'s alphabet.  Only the
 * shape is checked; crypt_rn refuses a malformed one at login (no match).
 */
static int
basic_hash_ok(const char *h, char *err, size_t errlen)
{
	size_t len = strlen(h), dollars = 0;
	int yes = strncmp(h, "$y$", 3) == 0;

	if (!yes && strncmp(h, "$6$", 3) != 0) {
		snprintf(err, errlen,
		    "basic hash must be yescrypt ($y$...) or sha512-crypt "
		    "($6$...); make one with `xmpp-restd password add`");
		return 0;
	}
	if (len >= CRYPT_OUTPUT_SIZE)
		goto bad;
	for (size_t i = 3; i < len; i++) {
		char c = h[i];

		if (c == '$') {
			if (h[i - 1] == '$' || i + 1 == len)
				goto bad;
			dollars++;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			       (c >= '0' && c <= '9') || c == '.' || c == '/' ||
			       (c == '=' && !yes))) {
			goto bad;
		}
	}
	if (yes ? dollars != 2 : (dollars < 1 || dollars > 2))
		goto bad;
	/* sha512-crypt's only '=' is in its "rounds=N" field. */
	if (!yes && strchr(h, '=') != NULL &&
	    (dollars != 2 || strncmp(h + 3, "rounds=", 7) != 0 ||
		strchr(h + 10, '=') != NULL))
		goto bad;
	return 1;
bad:
	snprintf(err, errlen, "basic hash is not a well-formed %s string",
	    yes ? "yescrypt" : "sha512-crypt");
	return 0;
}

void
cred_clear(struct cred *cr)
{
	if (cr == NULL)
		return;
	free(cr->name);
	free(cr->hash);
	for (size_t i = 0; i < cr->nfrom; i++)
		free(cr->from[i]);
	free(cr->from);
	memset(cr, 0, sizeof(*cr));
}

void
creds_free(struct creds *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		cred_clear(&c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

int
creds_append(struct creds *c, struct cred *cr)
{
	struct cred *v;

	/* Grow at powers of two: n is the capacity's only record. */
	if ((c->n & (c->n - 1)) == 0) {
		size_t cap = c->n ? c->n * 2 : 1;

		if (cap > SIZE_MAX / sizeof(*v)) {
			errno = ENOMEM;
			return -1;
		}
		if ((v = realloc(c->v, cap * sizeof(*v))) == NULL)
			return -1;
		c->v = v;
	}
	c->v[c->n++] = *cr;
	memset(cr, 0, sizeof(*cr));
	return 0;
}

int
creds_remove(struct creds *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].name, name) != 0)
			continue;
		cred_clear(&c->v[i]);
		memmove(
		    &c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof(c->v[0]));
		c->n--;
		return 0;
	}
	return -1;
}

static int
parse_from(struct cred *cr, const char *v, const char *domain, char *err,
    size_t errlen)
{
	size_t n = 1;

	for (const char *p = v; *p; p++)
		n += *p == ',';
	if ((cr->from = calloc(n, sizeof(*cr->from))) == NULL)
		goto nomem;
	for (;;) {
		size_t len = strcspn(v, ",");

		if (len == 0) {
			snprintf(err, errlen, "empty pattern in from=");
			return -1;
		}
		if ((cr->from[cr->nfrom] = strndup(v, len)) == NULL)
			goto nomem;
		if (!creds_pattern_ok(
			cr->from[cr->nfrom++], domain, err, errlen))
			return -1;
		if (v[len] == '\0')
			return 0;
		v += len + 1;
	}
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int
parse_time(
    const char *key, const char *v, int64_t *out, char *err, size_t errlen)
{
	unsigned long long t;

	if (xr_parse_uint(v, 1, (unsigned long long)CREDS_TIME_MAX, &t) < 0) {
		snprintf(err, errlen,
		    "%s= must be Unix time in seconds, 1 to %lld", key,
		    (long long)CREDS_TIME_MAX);
		return -1;
	}
	*out = (int64_t)t;
	return 0;
}

/* One key=value field into cr; seen holds the options already given. */
static int
parse_option(struct cred *cr, char *f, unsigned *seen, const char *domain,
    char *err, size_t errlen)
{
	char q[QUOTE_MAX + 4];
	char *eq = strchr(f, '=');
	size_t i;

	if (eq == NULL) {
		quote(q, sizeof(q), f, strlen(f));
		snprintf(err, errlen,
		    "unexpected field '%s' (options are from=, kinds=, "
		    "expires=, created= and rate=)",
		    q);
		return -1;
	}
	*eq = '\0';
	for (i = 0; i < OPT_N; i++) {
		if (strcmp(f, opt_names[i]) == 0)
			break;
	}
	if (i == OPT_N) {
		quote(q, sizeof(q), f, strlen(f));
		snprintf(err, errlen,
		    "unknown option '%s=' (options are from=, kinds=, "
		    "expires=, created= and rate=)",
		    q);
		return -1;
	}
	if (*seen & (1u << i)) {
		snprintf(err, errlen, "%s= given twice", opt_names[i]);
		return -1;
	}
	*seen |= 1u << i;
	switch ((enum opt)i) {
	case OPT_FROM:
		return parse_from(cr, eq + 1, domain, err, errlen);
	case OPT_KINDS:
		return creds_kinds_parse(eq + 1, &cr->kinds, err, errlen);
	case OPT_EXPIRES:
		return parse_time("expires", eq + 1, &cr->expires, err, errlen);
	case OPT_CREATED:
		return parse_time("created", eq + 1, &cr->created, err, errlen);
	case OPT_RATE:
		return rate_parse(eq + 1, &cr->rate, err, errlen);
	case OPT_N:
		break;
	}
	return -1;
}

/* Field number i (from 0) of a credential line into cr. */
static int
parse_field(struct cred *cr, size_t i, char *f, unsigned *seen,
    const char *domain, char *err, size_t errlen)
{
	switch (i) {
	case 0:
		if (!creds_name_ok(f)) {
			snprintf(err, errlen,
			    "a name is 1 to %d characters of A-Z a-z 0-9 . _ -",
			    CREDS_NAME_MAX);
			return -1;
		}
		if ((cr->name = strdup(f)) == NULL)
			break;
		return 0;
	case 1:
		if (strcmp(f, "bearer") == 0)
			cr->scheme = CRED_BEARER;
		else if (strcmp(f, "basic") == 0)
			cr->scheme = CRED_BASIC;
		else {
			char q[QUOTE_MAX + 4];

			quote(q, sizeof(q), f, strlen(f));
			snprintf(err, errlen,
			    "unknown scheme '%s' (bearer or basic)", q);
			return -1;
		}
		return 0;
	case 2:
		if (cr->scheme == CRED_BEARER && !bearer_hash_ok(f)) {
			snprintf(err, errlen,
			    "bearer hash must be %d lower-case hex digits "
			    "(SHA-256 of the token)",
			    CREDS_HASH_HEX);
			return -1;
		}
		if (cr->scheme == CRED_BASIC && !basic_hash_ok(f, err, errlen))
			return -1;
		if ((cr->hash = strdup(f)) == NULL)
			break;
		return 0;
	default:
		return parse_option(cr, f, seen, domain, err, errlen);
	}
	snprintf(err, errlen, "out of memory");
	return -1;
}

/*
 * One line (NUL-terminated, no newline) into out; blank and comment lines
 * add nothing.  err gets the reason without the line number.
 */
static int
parse_line(
    struct creds *out, char *line, const char *domain, char *err, size_t errlen)
{
	static const char *const missing[] = {"name", "scheme", "hash"};
	struct cred cr;
	unsigned seen = 0;
	size_t i = 0, skip = strspn(line, " \t");
	char *p = line;

	if (line[skip] == '\0' || line[skip] == '#')
		return 0;
	if (strchr(line, '\r') != NULL) {
		snprintf(err, errlen, "carriage return (use Unix line ends)");
		return -1;
	}
	if (skip > 0) {
		snprintf(err, errlen, "line starts with a blank");
		return -1;
	}
	memset(&cr, 0, sizeof(cr));
	cr.kinds = ALL_KINDS;
	for (;; i++) {
		char *end = p + strcspn(p, " \t");
		int last = *end == '\0';

		*end = '\0';
		if (!last && end[1] == '\0') {
			snprintf(err, errlen, "blank at the end of the line");
			goto fail;
		}
		if (!last && (end[1] == ' ' || end[1] == '\t')) {
			snprintf(err, errlen,
			    "two blanks in a row (separate fields by one "
			    "space or tab)");
			goto fail;
		}
		if (parse_field(&cr, i, p, &seen, domain, err, errlen) < 0)
			goto fail;
		if (last)
			break;
		p = end + 1;
	}
	if (i < 2) {
		snprintf(err, errlen, "missing %s after the %s", missing[i + 1],
		    missing[i]);
		goto fail;
	}
	if (creds_append(out, &cr) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return 0;
fail:
	cred_clear(&cr);
	return -1;
}

struct name_line {
	const char *name;
	size_t line;
};

static int
name_line_cmp(const void *a, const void *b)
{
	const struct name_line *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * Refuses a name given twice, naming the first line that repeats one.
 * Sorted rather than compared pairwise: a file may hold many entries.
 */
static int
check_unique(
    const struct creds *c, const size_t *lines, char *err, size_t errlen)
{
	struct name_line *v;
	size_t bad = 0;
	const char *name = NULL;

	if (c->n < 2)
		return 0;
	if ((v = calloc(c->n, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < c->n; i++) {
		v[i].name = c->v[i].name;
		v[i].line = lines[i];
	}
	qsort(v, c->n, sizeof(*v), name_line_cmp);
	for (size_t i = 1; i < c->n; i++) {
		if (strcmp(v[i].name, v[i - 1].name) == 0 &&
		    (bad == 0 || v[i].line < bad)) {
			bad = v[i].line;
			name = v[i].name;
		}
	}
	if (bad != 0)
		snprintf(err, errlen,
		    "%zu: a credential named %s is already defined above", bad,
		    name);
	free(v);
	return bad != 0 ? -1 : 0;
}

int
creds_parse(const char *text, size_t len, const char *domain, struct creds *out,
    char *err, size_t errlen)
{
	struct creds set = {NULL, 0};
	char line[CREDS_LINE_MAX + 1], reason[XR_ERRLEN];
	size_t *lines = NULL, nlines = 0, lineno = 0, pos = 0;

	out->v = NULL;
	out->n = 0;
	if (len > CREDS_FILE_MAX) {
		snprintf(err, errlen, "larger than %lu bytes", CREDS_FILE_MAX);
		return -1;
	}
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - s) : len - pos;
		size_t before = set.n;

		lineno++;
		pos += llen + (nl != NULL);
		if (llen > CREDS_LINE_MAX) {
			snprintf(reason, sizeof(reason),
			    "line longer than %d bytes", CREDS_LINE_MAX);
			goto fail;
		}
		if (memchr(s, '\0', llen) != NULL) {
			snprintf(reason, sizeof(reason), "NUL byte");
			goto fail;
		}
		memcpy(line, s, llen);
		line[llen] = '\0';
		if (parse_line(&set, line, domain, reason, sizeof(reason)) < 0)
			goto fail;
		if (set.n == before)
			continue;
		/* Line numbers of the entries, for the duplicate check. */
		if (set.n > nlines) {
			size_t cap = nlines ? nlines * 2 : 16;
			size_t *nl2 = realloc(lines, cap * sizeof(*lines));

			if (nl2 == NULL) {
				snprintf(
				    reason, sizeof(reason), "out of memory");
				goto fail;
			}
			lines = nl2;
			nlines = cap;
		}
		lines[set.n - 1] = lineno;
	}
	if (check_unique(&set, lines, err, errlen) < 0) {
		free(lines);
		creds_free(&set);
		return -1;
	}
	free(lines);
	*out = set;
	return 0;
fail:
	snprintf(err, errlen, "%zu: %s", lineno, reason);
	free(lines);
	creds_free(&set);
	return -1;
}

/* The whole of fd, at most CREDS_FILE_MAX bytes; NULL with errno set
 * (EFBIG when too large). */
static char *
read_all(int fd, size_t hint, size_t *lenp)
{
	size_t cap = hint + 1, len = 0;
	char *buf = malloc(cap), *nb;

	if (buf == NULL)
		return NULL;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap > CREDS_FILE_MAX) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			cap = cap * 2 > CREDS_FILE_MAX + 1 ? CREDS_FILE_MAX + 1
							   : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CREDS_FILE_MAX) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	*lenp = len;
	return buf;
}

int
creds_load(const char *path, const char *domain, struct creds *out, char *err,
    size_t errlen)
{
	char reason[XR_ERRLEN + 32];
	struct stat st;
	char *text;
	size_t len = 0;
	int fd;

	out->v = NULL;
	out->n = 0;
	/* The file holds hashes: guessable offline, so nobody else reads
	 * it, and nobody else may add an entry to it. */
	if ((fd = privfile_open(path, PRIVFILE_ANY_OWNER, &st, err, errlen)) <
	    0)
		return fd == -2 ? 1 : -1;
	if (st.st_size < 0 || (unsigned long long)st.st_size > CREDS_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %lu bytes", path,
		    CREDS_FILE_MAX);
		goto fail;
	}
	if ((text = read_all(fd, (size_t)st.st_size, &len)) == NULL) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %lu bytes", path,
			    CREDS_FILE_MAX);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	if (creds_parse(text, len, domain, out, reason, sizeof(reason)) < 0) {
		/* "LINE: reason" becomes "PATH:LINE: reason". */
		if (reason[0] >= '0' && reason[0] <= '9')
			snprintf(err, errlen, "%s:%s", path, reason);
		else
			snprintf(err, errlen, "%s: %s", path, reason);
		free(text);
		return -1;
	}
	free(text);
	return 0;
fail:
	close(fd);
	return -1;
}

const struct cred *
creds_find(const struct creds *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	}
	return NULL;
}

/*
 * Every request hashes its token.  EVP_sha256() makes each EVP_Digest
 * look the implementation up again (EVP_MD_fetch, with its locks) and
 * allocate a context, which would double the cost of a hash that is a
 * large part of the bridge's work per request.  Both are made once and kept for the life of the process (callers are on one
 * thread: the bridge's loop, or a command).
 */
static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;

static int
sha256(const char *data, size_t len, unsigned char *md, unsigned int *mdlen)
{
	if (sha256_md == NULL &&
	    (sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return 0;
	if (sha256_ctx == NULL && (sha256_ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	return EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) &&
	    EVP_DigestUpdate(sha256_ctx, data, len) &&
	    EVP_DigestFinal_ex(sha256_ctx, md, mdlen);
}

int
creds_hash_token(const char *token, size_t len, char hex[CREDS_HASH_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!sha256(token, len, md, &mdlen) || mdlen * 2 != CREDS_HASH_HEX)
		return -1;
	for (size_t i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[CREDS_HASH_HEX] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

const struct cred *
creds_match_bearer(const struct creds *c, const char *token)
{
	char hex[CREDS_HASH_HEX + 1];
	const struct cred *match = NULL;
	size_t len;

	if (c == NULL || token == NULL)
		return NULL;
	len = strnlen(token, CREDS_TOKEN_MAX + 1);
	if (len == 0 || len > CREDS_TOKEN_MAX ||
	    creds_hash_token(token, len, hex) < 0)
		return NULL;
	/* Every entry is compared, so the time taken does not tell which
	 * (or whether one) matched. */
	for (size_t i = 0; i < c->n; i++) {
		const struct cred *cr = &c->v[i];

		if (cr->scheme == CRED_BEARER && cr->hash != NULL &&
		    CRYPTO_memcmp(hex, cr->hash, CREDS_HASH_HEX) == 0)
			match = cr;
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	return match;
}

int
cred_check_password(const struct cred *cr, const char *password)
{
	struct crypt_data *cd;
	const char *h;
	size_t hlen;
	int ok = 0;

	if (cr == NULL || cr->scheme != CRED_BASIC || cr->hash == NULL ||
	    password == NULL ||
	    strnlen(password, CREDS_PASSWORD_MAX + 1) > CREDS_PASSWORD_MAX)
		return 0;
	/* ~32 KiB: too much for a stack that may be a thread's. */
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	h = crypt_rn(password, cr->hash, cd, (int)sizeof(*cd));
	hlen = strlen(cr->hash);
	/* A failure gives NULL or a string starting with '*', which no
	 * stored hash does. */
	if (h != NULL && h[0] != '*' && strlen(h) == hlen &&
	    CRYPTO_memcmp(h, cr->hash, hlen) == 0)
		ok = 1;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* Whether pattern p (checked by creds_pattern_ok) allows the JID from. */
static int
pattern_allows(const char *pat, const char *from)
{
	struct jid_parts p, f;
	size_t plen = strlen(pat);

	jid_split(from, &f);
	if (strncmp(pat, "*@", 2) == 0) {
		const char *d = pat + 2;

		return f.has_local && f.llen > 0 &&
		    jid_span_eq_fold(f.domain, f.dlen, d, strlen(d));
	}
	jid_split(pat, &p);
	if (plen >= 2 && strcmp(pat + plen - 2, "/*") == 0) {
		/* A resource of "*": jsplit cut it off as the resource. */
		return f.has_local && p.has_local && f.llen == p.llen &&
		    memcmp(f.local, p.local, p.llen) == 0 &&
		    jid_span_eq_fold(f.domain, f.dlen, p.domain, p.dlen);
	}
	if (f.has_local != p.has_local || f.has_res != p.has_res ||
	    f.llen != p.llen || f.rlen != p.rlen)
		return 0;
	return (p.llen == 0 || memcmp(f.local, p.local, p.llen) == 0) &&
	    jid_span_eq_fold(f.domain, f.dlen, p.domain, p.dlen) &&
	    (p.rlen == 0 || memcmp(f.res, p.res, p.rlen) == 0);
}

int
cred_allows_from(const struct cred *cr, const char *from)
{
	if (cr == NULL || from == NULL)
		return 0;
	if (cr->nfrom == 0)
		return 1;
	for (size_t i = 0; i < cr->nfrom; i++) {
		if (pattern_allows(cr->from[i], from))
			return 1;
	}
	return 0;
}

int
cred_allows_kind(const struct cred *cr, const char *kind)
{
	if (cr == NULL || kind == NULL)
		return 0;
	for (size_t i = 0; i < NKINDS; i++) {
		if (strcmp(kind, kind_names[i]) == 0)
			return (cr->kinds & kind_bits[i]) != 0;
	}
	return 0;
}

int
cred_expired(const struct cred *cr, int64_t now)
{
	return cr != NULL && cr->expires != 0 && now >= cr->expires;
}

static void
write_cred(const struct cred *cr, FILE *fp)
{
	fprintf(fp, "%s %s %s", cr->name,
	    cr->scheme == CRED_BEARER ? "bearer" : "basic", cr->hash);
	for (size_t i = 0; i < cr->nfrom; i++)
		fprintf(fp, "%s%s", i == 0 ? " from=" : ",", cr->from[i]);
	if (cr->kinds != ALL_KINDS) {
		const char *sep = " kinds=";

		for (size_t i = 0; i < NKINDS; i++) {
			if (cr->kinds & kind_bits[i]) {
				fprintf(fp, "%s%s", sep, kind_names[i]);
				sep = ",";
			}
		}
	}
	if (cr->expires != 0)
		fprintf(fp, " expires=%lld", (long long)cr->expires);
	if (cr->created != 0)
		fprintf(fp, " created=%lld", (long long)cr->created);
	if (cr->rate != 0)
		fprintf(fp, " rate=%lu/s", cr->rate);
	fputc('\n', fp);
}

int
creds_write(const struct creds *c, FILE *fp)
{
	fputs("# Managed by `xmpp-restd token` (see xmpp-restd(8)); must stay "
	      "mode 0600.\n",
	    fp);
	for (size_t i = 0; i < c->n; i++)
		write_cred(&c->v[i], fp);
	return ferror(fp) ? -1 : 0;
}
