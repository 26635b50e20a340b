/*
 * The credentials file: its text read into a set of credentials, and a
 * set written back out.  One credential per line; lines that are blank or
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
 * the bridge's own domain).  Without kinds=, every kind.  T is Unix time
 * in seconds.  Without rate=, no limit (so files from before rate= load
 * unchanged).
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
#include <unistd.h>

#include "creds.h"
#include "creds_priv.h"
#include "privfile.h"
#include "rate.h"
#include "util.h"

enum opt { OPT_FROM, OPT_KINDS, OPT_EXPIRES, OPT_CREATED, OPT_RATE, OPT_N };
static const char *const opt_names[OPT_N] = {
    "from", "kinds", "expires", "created", "rate"};

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
	char q[CREDS_QUOTE_MAX + 4];
	char *eq = strchr(f, '=');
	size_t i;

	if (eq == NULL) {
		creds_quote(q, sizeof(q), f, strlen(f));
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
		creds_quote(q, sizeof(q), f, strlen(f));
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
			char q[CREDS_QUOTE_MAX + 4];

			creds_quote(q, sizeof(q), f, strlen(f));
			snprintf(err, errlen,
			    "unknown scheme '%s' (bearer or basic)", q);
			return -1;
		}
		return 0;
	case 2:
		if (cr->scheme == CRED_BEARER && !creds_bearer_hash_ok(f)) {
			snprintf(err, errlen,
			    "bearer hash must be %d lower-case hex digits "
			    "(SHA-256 of the token)",
			    CREDS_HASH_HEX);
			return -1;
		}
		if (cr->scheme == CRED_BASIC &&
		    !creds_basic_hash_ok(f, err, errlen))
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
	cr.kinds = CREDS_ALL_KINDS;
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

static void
write_cred(const struct cred *cr, FILE *fp)
{
	fprintf(fp, "%s %s %s", cr->name,
	    cr->scheme == CRED_BEARER ? "bearer" : "basic", cr->hash);
	for (size_t i = 0; i < cr->nfrom; i++)
		fprintf(fp, "%s%s", i == 0 ? " from=" : ",", cr->from[i]);
	if (cr->kinds != CREDS_ALL_KINDS) {
		const char *sep = " kinds=";

		for (size_t i = 0; i < CREDS_NKINDS; i++) {
			if (cr->kinds & creds_kind_bits[i]) {
				fprintf(fp, "%s%s", sep, creds_kind_names[i]);
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
