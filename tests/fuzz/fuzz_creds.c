/*
 * libFuzzer target for the credentials file parser (bridge/creds_file.c): the
 * input is a file's text.  Besides crashes, leaks and undefined behaviour
 * it checks:
 *
 *  - a refusal says why, as "LINE: reason" with a line the input has,
 *    and leaves the set empty;
 *  - an accepted file gives entries as the format promises: valid,
 *    unique names; 64 hex digits or a $y$/$6$ string; every pattern
 *    accepted by creds_pattern_ok under the domain; kinds never empty;
 *  - each pattern allows what it names and nothing of another domain;
 *    a bare-domain JID passes a "*@" pattern only if it is also listed;
 *  - the set written back out (creds_write) parses to the same set;
 *  - a token made from the input matches only an entry with its hash.
 *
 * Passwords are not checked: crypt(3) is slow by design, and libxcrypt
 * has its own fuzzing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "creds.h"
#include "util.h"

#define DOM "rest.example.org"
#define ALL (CONF_KIND_MESSAGE | CONF_KIND_PRESENCE | CONF_KIND_IQ)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
count_lines(const uint8_t *data, size_t size)
{
	size_t n = 1;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n')
			n++;
	}
	return n;
}

static void
check_err(const char *err, size_t lines)
{
	size_t len = strnlen(err, XR_ERRLEN);
	char *end;
	unsigned long n;

	if (len == 0 || len == XR_ERRLEN)
		abort();
	n = strtoul(err, &end, 10);
	if (end == err || n == 0 || n > lines || strncmp(end, ": ", 2) != 0 ||
	    end[2] == '\0')
		abort();
	/* Errors reach logs: printable ASCII only. */
	for (size_t i = 0; i < len; i++) {
		if (err[i] < 0x20 || err[i] > 0x7e)
			abort();
	}
}

static void
check_from(const struct cred *cr)
{
	char err[XR_ERRLEN], jid[CREDS_LINE_MAX + 16];
	int listed_domain = 0;

	for (size_t i = 0; i < cr->nfrom; i++) {
		const char *p = cr->from[i];
		size_t len = strlen(p);

		if (!creds_pattern_ok(p, DOM, err, sizeof(err)))
			abort();
		if (strchr(p, '@') == NULL && strchr(p, '/') == NULL)
			listed_domain = 1;
		if (strncmp(p, "*@", 2) == 0) {
			snprintf(jid, sizeof(jid), "someone@%s/r", p + 2);
			if (!cred_allows_from(cr, jid))
				abort();
		} else if (len >= 2 && strcmp(p + len - 2, "/*") == 0) {
			snprintf(jid, sizeof(jid), "%.*s", (int)(len - 2), p);
			if (!cred_allows_from(cr, jid))
				abort();
			snprintf(
			    jid, sizeof(jid), "%.*s/any", (int)(len - 2), p);
			if (!cred_allows_from(cr, jid))
				abort();
		} else if (!cred_allows_from(cr, p)) {
			abort();
		}
	}
	if (cr->nfrom > 0 &&
	    (cred_allows_from(cr, "x@other.example") ||
		cred_allows_from(cr, "other.example")))
		abort();
	if (cr->nfrom > 0 && !listed_domain && cred_allows_from(cr, DOM))
		abort();
	if (cr->nfrom == 0 && !cred_allows_from(cr, "a@" DOM "/b"))
		abort();
}

static void
check_cred(const struct cred *cr)
{
	static const char *const kinds[] = {"message", "presence", "iq"};
	size_t hlen = strlen(cr->hash);

	if (!creds_name_ok(cr->name))
		abort();
	if (cr->scheme == CRED_BEARER) {
		if (hlen != CREDS_HASH_HEX ||
		    strspn(cr->hash, "0123456789abcdef") != hlen)
			abort();
	} else if (cr->scheme == CRED_BASIC) {
		if (strncmp(cr->hash, "$y$", 3) != 0 &&
		    strncmp(cr->hash, "$6$", 3) != 0)
			abort();
	} else {
		abort();
	}
	if (cr->kinds == 0 || (cr->kinds & ~(unsigned long)ALL) != 0)
		abort();
	for (size_t i = 0; i < 3; i++) {
		if (cred_allows_kind(cr, kinds[i]) !=
		    !!(cr->kinds & (1UL << i)))
			abort();
	}
	if (cr->expires < 0 || cr->expires > CREDS_TIME_MAX ||
	    cr->created < 0 || cr->created > CREDS_TIME_MAX)
		abort();
	check_from(cr);
}

static void
same_cred(const struct cred *a, const struct cred *b)
{
	if (strcmp(a->name, b->name) != 0 || a->scheme != b->scheme ||
	    strcmp(a->hash, b->hash) != 0 || a->nfrom != b->nfrom ||
	    a->kinds != b->kinds || a->expires != b->expires ||
	    a->created != b->created)
		abort();
	for (size_t i = 0; i < a->nfrom; i++) {
		if (strcmp(a->from[i], b->from[i]) != 0)
			abort();
	}
}

/* A token from the input's first bytes: it matches an entry only if
 * that entry holds its hash. */
static void
check_bearer(const struct creds *c, const uint8_t *data, size_t size)
{
	char token[65], hex[CREDS_HASH_HEX + 1];
	size_t n = size < 64 ? size : 64;
	const struct cred *m;

	memcpy(token, data, n);
	token[n] = '\0';
	m = creds_match_bearer(c, token);
	if (strlen(token) == 0) {
		if (m != NULL)
			abort();
		return;
	}
	if (creds_hash_token(token, strlen(token), hex) < 0)
		abort();
	if (m != NULL && (m->scheme != CRED_BEARER || strcmp(m->hash, hex)))
		abort();
	if (m == NULL) {
		for (size_t i = 0; i < c->n; i++) {
			if (c->v[i].scheme == CRED_BEARER &&
			    strcmp(c->v[i].hash, hex) == 0)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so reading past it is an ASan
	 * report. */
	char *copy = malloc(size ? size : 1);
	char err[XR_ERRLEN], *text = NULL;
	struct creds c, again;
	size_t len = 0;
	FILE *fp;

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	err[0] = '\0';
	if (creds_parse(copy, size, DOM, &c, err, sizeof(err)) < 0) {
		check_err(err, count_lines(data, size));
		if (c.n != 0 || c.v != NULL)
			abort();
		free(copy);
		return 0;
	}
	free(copy);
	for (size_t i = 0; i < c.n; i++) {
		check_cred(&c.v[i]);
		if (creds_find(&c, c.v[i].name) != &c.v[i])
			abort();
	}
	check_bearer(&c, data, size);

	if ((fp = open_memstream(&text, &len)) == NULL)
		abort();
	if (creds_write(&c, fp) < 0 || fclose(fp) != 0)
		abort();
	if (creds_parse(text, len, DOM, &again, err, sizeof(err)) < 0 ||
	    again.n != c.n)
		abort();
	for (size_t i = 0; i < c.n; i++)
		same_cred(&c.v[i], &again.v[i]);
	free(text);
	creds_free(&again);
	creds_free(&c);
	return 0;
}
