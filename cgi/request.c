/*
 * Reading and checking a request.  Checks run cheapest first (method,
 * media type, declared size) so a bad request costs no parsing; the body
 * is read under the same cap whether or not CONTENT_LENGTH was given
 * (Apache mod_cgid passes chunked uploads without it).  The first check
 * that fails makes the request REQUEST_REFUSED, with the status and text
 * of docs/API.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "request.h"

#define MEDIA_TYPE "application/xmpp+xml"

static void refuse(struct request *rq, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
refuse(struct request *rq, int status, const char *fmt, ...)
{
	va_list ap;

	rq->kind = REQUEST_REFUSED;
	rq->status = status;
	va_start(ap, fmt);
	vsnprintf(rq->text, sizeof(rq->text), fmt, ap);
	va_end(ap);
}

/* 1 if the Content-Type names our media type (parameters allowed). */
static int
media_type_ok(const char *ct)
{
	size_t n = strlen(MEDIA_TYPE);

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, MEDIA_TYPE, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static int
check_media_type(struct io *io, struct request *rq)
{
	const char *ct = io->param(io, "CONTENT_TYPE");

	if (ct == NULL || *ct == '\0') {
		refuse(rq, 415, "missing Content-Type; expected " MEDIA_TYPE);
		return -1;
	}
	if (!media_type_ok(ct)) {
		refuse(rq, 415,
		    "Content-Type must be " MEDIA_TYPE ", not '%.100s'", ct);
		return -1;
	}
	return 0;
}

/* Up to cap bytes of body into buf, *got of them; -1 on a read error. */
static int
read_upto(struct io *io, char *buf, size_t cap, size_t *got)
{
	*got = 0;
	while (*got < cap) {
		int n = io->read(io, buf + *got,
		    (int)(cap - *got < 65536 ? cap - *got : 65536));
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/*
 * Reads the body into a new buffer (NUL-terminated); *len its size.
 * Returns 0, or -1 with rq refused.
 */
static int
read_body(struct io *io, const struct conf *c, struct request *rq, char **out,
    size_t *len)
{
	const char *cl = io->param(io, "CONTENT_LENGTH");
	unsigned long max = c->max_stanza_bytes;
	unsigned long long want = 0;
	int known = cl != NULL && *cl != '\0';
	size_t cap, got;
	char *buf;

	if (known && xr_parse_uint(cl, 0, ~0ULL, &want) < 0) {
		refuse(rq, 400, "bad CONTENT_LENGTH '%s'", cl);
		return -1;
	}
	if (known && want > max) {
		refuse(rq, 413,
		    "stanza is %llu bytes; limit is %lu (max_stanza_bytes)",
		    want, max);
		return -1;
	}
	cap = known ? (size_t)want : (size_t)max + 1;
	if ((buf = malloc(cap + 1)) == NULL) {
		refuse(rq, 500, "out of memory");
		return -1;
	}
	if (read_upto(io, buf, cap, &got) < 0) {
		free(buf);
		refuse(rq, 400, "error reading the request body");
		return -1;
	}
	if (known && got < want) {
		free(buf);
		refuse(
		    rq, 400, "body ended after %zu of %llu bytes", got, want);
		return -1;
	}
	if (!known && got > max) {
		free(buf);
		refuse(rq, 413,
		    "stanza is more than %lu bytes; limit is %lu "
		    "(max_stanza_bytes)",
		    max, max);
		return -1;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* The body, parsed and checked into rq->st. */
static int
read_stanza(struct io *io, const struct conf *c, struct request *rq)
{
	struct stanza_limits lim;
	struct stanza_error se;
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (read_body(io, c, rq, &body, &len) < 0)
		return -1;
	lim.max_bytes = c->max_stanza_bytes;
	lim.max_depth = c->max_stanza_depth;
	lim.max_attrs = c->max_stanza_attributes;
	rc = stanza_parse(body, len, &lim, c->jid, &rq->st, &se);
	free(body);
	if (rc < 0) {
		refuse(rq, se.status, "%s", se.text);
		return -1;
	}
	return 0;
}

/* The wait in ms: iq_timeout, or less/more as the header asks, capped. */
static int
read_timeout(struct io *io, const struct conf *c, struct request *rq)
{
	const char *h = io->param(io, "HTTP_X_XMPP_REST_TIMEOUT");
	unsigned long long s = c->iq_timeout;

	if (h != NULL && xr_parse_uint(h, 1, 1000000, &s) < 0) {
		refuse(rq, 400,
		    "X-XMPP-Rest-Timeout must be a whole number of seconds "
		    "from 1 to %lu, not '%s'",
		    c->iq_max_timeout, h);
		return -1;
	}
	if (s > c->iq_max_timeout)
		s = c->iq_max_timeout;
	rq->timeout_ms = (unsigned long)s * 1000UL;
	return 0;
}

/* A CGI variable, or NULL when it is absent or empty. */
static const char *
param_set(struct io *io, const char *name)
{
	const char *v = io->param(io, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* GET .../status (or ?status): the bridge's own report, for health
 * checks; it holds no secret, so it needs no credentials. */
static int
is_status(struct io *io)
{
	const char *pi = io->param(io, "PATH_INFO");
	const char *qs = io->param(io, "QUERY_STRING");

	return (pi != NULL && strcmp(pi, "/status") == 0) ||
	    (qs != NULL && strcmp(qs, "status") == 0);
}

void
request_read(struct io *io, const struct conf *c, const char *conf_err,
    struct request *rq)
{
	const char *method = io->param(io, "REQUEST_METHOD");

	memset(rq, 0, sizeof(*rq));
	rq->accept = io->param(io, "HTTP_ACCEPT");
	rq->server_software = io->param(io, "SERVER_SOFTWARE");
	/* Apache's mod_rewrite fallback for CGI sets it under the second
	 * name after an internal redirect (see etc/htaccess). */
	if ((rq->authorization = param_set(io, "HTTP_AUTHORIZATION")) == NULL)
		rq->authorization =
		    param_set(io, "REDIRECT_HTTP_AUTHORIZATION");
	rq->remote_user = io->param(io, "REMOTE_USER");
	rq->remote_addr = io->param(io, "REMOTE_ADDR");
	if (method != NULL && strcmp(method, "OPTIONS") == 0) {
		rq->kind = REQUEST_OPTIONS;
		return;
	}
	if (method != NULL && strcmp(method, "GET") == 0 && is_status(io) &&
	    c != NULL) {
		rq->kind = REQUEST_STATUS;
		return;
	}
	if (method == NULL || strcmp(method, "POST") != 0) {
		refuse(rq, 405, "method %s not allowed; use POST",
		    method ? method : "(none)");
		return;
	}
	if (c == NULL) {
		log_warnx("%s", conf_err);
		refuse(rq, 500, "configuration error: %s", conf_err);
		return;
	}
	if (check_media_type(io, rq) < 0 || read_stanza(io, c, rq) < 0 ||
	    read_timeout(io, c, rq) < 0)
		return;
	rq->kind = REQUEST_SUBMIT;
}

void
request_free(struct request *rq)
{
	stanza_free(&rq->st);
}
