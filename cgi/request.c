/*
 * The request handler.  Checks run cheapest first (method, media type,
 * declared size) so a bad request costs no parsing; the body is read
 * under the same cap whether or not CONTENT_LENGTH was given (Apache
 * mod_cgid passes chunked uploads without it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridge_client.h"
#include "json_out.h"
#include "log.h"
#include "reply.h"
#include "request.h"
#include "stanza.h"
#include "util.h"
#include "xmpp_error.h"

#define ALLOW "POST, OPTIONS"
#define MEDIA_TYPE "application/xmpp+xml"
/* How long past the stanza's own timeout we wait for the bridge. */
#define BRIDGE_GRACE_MS 2000
#define STATUS_TIMEOUT_MS 5000

struct ctx {
	struct io *io;
	const struct conf *c;
	enum body_format fmt;
};

/* The headers of one response, built through the header writer. */
struct heads {
	struct outbuf ob;
	char buf[REPLY_HEAD_MAX];
};

static struct outbuf *
heads_init(struct heads *h)
{
	ob_init(&h->ob, h->buf, sizeof(h->buf));
	return &h->ob;
}

static void fail(struct ctx *x, int status, const struct outbuf *headers,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct ctx *x, int status, const struct outbuf *headers, const char *fmt,
    ...)
{
	char text[XR_ERRLEN * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	reply_error(x->io, x->fmt, status, headers, NULL, NULL, text, NULL);
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

/*
 * Reads the body into a new buffer (NUL-terminated); *len its size.
 * Returns the HTTP status to fail with, or 0.
 */
static int
read_body(struct ctx *x, char **out, size_t *len, char *why, size_t whylen)
{
	const char *cl = x->io->param(x->io, "CONTENT_LENGTH");
	unsigned long max = x->c->max_stanza_bytes;
	unsigned long long want = 0;
	int known = cl != NULL && *cl != '\0';
	size_t cap, got = 0;
	char *buf;

	if (known && xr_parse_uint(cl, 0, ~0ULL, &want) < 0) {
		snprintf(why, whylen, "bad CONTENT_LENGTH '%s'", cl);
		return 400;
	}
	if (known && want > max) {
		snprintf(why, whylen,
		    "stanza is %llu bytes; limit is %lu (max_stanza_bytes)",
		    want, max);
		return 413;
	}
	cap = known ? (size_t)want : (size_t)max + 1;
	if ((buf = malloc(cap + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return 500;
	}
	while (got < cap) {
		int n = x->io->read(x->io, buf + got,
		    (int)(cap - got < 65536 ? cap - got : 65536));
		if (n < 0) {
			free(buf);
			snprintf(why, whylen, "error reading the request body");
			return 400;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (known && got < want) {
		free(buf);
		snprintf(why, whylen, "body ended after %zu of %llu bytes", got,
		    want);
		return 400;
	}
	if (!known && got > max) {
		free(buf);
		snprintf(why, whylen,
		    "stanza is more than %lu bytes; limit is %lu "
		    "(max_stanza_bytes)",
		    max, max);
		return 413;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* The wait in ms: iq_timeout, or less/more as the header asks, capped. */
static int
request_timeout(struct ctx *x, unsigned long *ms)
{
	const char *h = x->io->param(x->io, "HTTP_X_XMPP_REST_TIMEOUT");
	unsigned long long s = x->c->iq_timeout;

	if (h != NULL && xr_parse_uint(h, 1, 1000000, &s) < 0) {
		fail(x, 400, NULL,
		    "X-XMPP-Rest-Timeout must be a whole number of seconds "
		    "from 1 to %lu, not '%s'",
		    x->c->iq_max_timeout, h);
		return -1;
	}
	if (s > x->c->iq_max_timeout)
		s = x->c->iq_max_timeout;
	*ms = (unsigned long)s * 1000UL;
	return 0;
}

/* The Authorization header, wherever this web server put it. */
static const char *
authorization(struct io *io)
{
	const char *h = io->param(io, "HTTP_AUTHORIZATION");

	/* Apache's mod_rewrite fallback for CGI sets it under this name
	 * after an internal redirect (see etc/htaccess). */
	if (h == NULL || *h == '\0')
		h = io->param(io, "REDIRECT_HTTP_AUTHORIZATION");
	return h != NULL && *h != '\0' ? h : NULL;
}

/* 401 with one WWW-Authenticate per scheme the bridge accepts; hdr
 * already holds the other headers. */
static void
respond_unauthorized(struct ctx *x, const struct frame *f, struct outbuf *hdr)
{
	const char *ch = frame_get(f, FIELD_CHALLENGE);
	const char *text = frame_get(f, FIELD_TEXT);
	const char *sw = x->io->param(x->io, "SERVER_SOFTWARE");

	while (ch != NULL && *ch != '\0') {
		size_t len = strcspn(ch, "\r\n");

		if (len > 0)
			ob_headerf(
			    hdr, "WWW-Authenticate", "%.*s", (int)len, ch);
		ch += len;
		ch += strspn(ch, "\r\n");
	}
	/* Apache keeps Authorization from CGI programs unless told not to;
	 * a user who did send one deserves to hear why it vanished. */
	if (authorization(x->io) == NULL && sw != NULL &&
	    strstr(sw, "Apache") != NULL) {
		fail(x, 401, hdr,
		    "%s. If you did send an Authorization header, Apache did "
		    "not pass it on: add 'CGIPassAuth On' to this "
		    "directory's configuration or .htaccess (Apache 2.4.13 "
		    "or later; see INSTALL)",
		    text ? text : "authentication required");
		return;
	}
	fail(x, 401, hdr, "%s", text ? text : "authentication required");
}

/* {"type":"sent","id":...}, or its line of text. */
static void
respond_sent(struct ctx *x, const struct stanza *st, const struct outbuf *hdr)
{
	json_t *j;
	size_t len = 0;
	char *doc;

	if (x->fmt != BODY_JSON) {
		char line[XR_ERRLEN * 2];
		struct outbuf ob;

		ob_init(&ob, line, sizeof(line));
		ob_printf(&ob, "%s sent, id %s\n", st->kind, st->id);
		reply_send(x->io, 202, hdr, "text/plain; charset=utf-8", ob.buf,
		    ob.len);
		return;
	}
	j = json_object();
	if (j != NULL) {
		json_object_set_new(j, "type", json_string("sent"));
		json_object_set_new(
		    j, "id", xr_json_text(st->id, strlen(st->id)));
	}
	if ((doc = xr_json_dump(j, &len)) == NULL) {
		fail(x, 500, hdr, "out of memory");
		return;
	}
	reply_send(x->io, 202, hdr, "application/json", doc, len);
	free(doc);
}

/* The bridge's stanza check names its HTTP status; else the condition's. */
static int
rejected_status(const struct frame *f)
{
	const char *status = frame_get(f, FIELD_STATUS);
	const char *cond = frame_get(f, FIELD_CONDITION);
	unsigned long long n;

	if (status != NULL && xr_parse_uint(status, 400, 599, &n) == 0)
		return (int)n;
	return cond ? reply_status_for_condition(cond) : 400;
}

static void
respond_outcome(struct ctx *x, const struct stanza *st, const struct frame *f,
    unsigned long timeout_ms)
{
	const char *name = frame_get(f, FIELD_OUTCOME);
	const char *stanza = frame_get(f, FIELD_STANZA);
	const char *cond = frame_get(f, FIELD_CONDITION);
	const char *text = frame_get(f, FIELD_TEXT);
	const char *etype = frame_get(f, FIELD_ERRTYPE);
	struct heads h;
	struct outbuf *hdr = heads_init(&h);
	enum outcome o;

	ob_header(hdr, "X-Stanza-Id", st->id);
	if (name == NULL || outcome_parse(name, &o) < 0) {
		fail(x, 502, hdr, "the bridge gave an unknown outcome");
		return;
	}
	switch (o) {
	case OUTCOME_SENT:
		respond_sent(x, st, hdr);
		return;
	case OUTCOME_REPLY:
		if (stanza == NULL) {
			fail(x, 502, hdr,
			    "the bridge sent a reply without a "
			    "stanza");
			return;
		}
		reply_send(x->io, 200, hdr, "application/xmpp+xml", stanza,
		    f->flen[FIELD_STANZA]);
		return;
	case OUTCOME_ERROR: {
		int status = reply_status_for_condition(cond);
		char line[REPLY_TEXT_MAX + 128];
		struct outbuf msg;

		cond = xr_error_condition(cond);
		etype = xr_error_type(etype);
		ob_init(&msg, line, sizeof(line));
		ob_printf(&msg, "%s (%s)", cond, etype);
		if (text != NULL) {
			ob_puts(&msg, ": ");
			ob_put(
			    &msg, text, ob_utf8_cut(text, XR_ERROR_TEXT_MAX));
		}
		reply_error(x->io, x->fmt, status, hdr, etype, cond,
		    x->fmt == BODY_TEXT || x->fmt == BODY_DEFAULT
			? msg.buf
			: (text ? text : cond),
		    stanza);
		return;
	}
	case OUTCOME_TIMEOUT:
		fail(x, 504, hdr, "no reply within %lu s",
		    (timeout_ms + 999) / 1000);
		return;
	case OUTCOME_UNAVAILABLE:
		ob_headerf(hdr, "Retry-After", "%lu", x->c->retry_after);
		fail(x, 503, hdr, "%s", text ? text : "XMPP session is down");
		return;
	case OUTCOME_BUSY:
		ob_headerf(hdr, "Retry-After", "%lu", x->c->retry_after);
		fail(
		    x, 503, hdr, "bridge busy: %s", text ? text : "at a limit");
		return;
	case OUTCOME_REJECTED:
		reply_error(x->io, x->fmt, rejected_status(f), hdr, NULL, NULL,
		    text ? text : "the bridge refused the request", NULL);
		return;
	case OUTCOME_UNAUTHORIZED:
		respond_unauthorized(x, f, hdr);
		return;
	case OUTCOME_FORBIDDEN:
		fail(x, 403, hdr, "%s", text ? text : "not allowed");
		return;
	case OUTCOME_STREAM_CLOSED:
		fail(x, 502, hdr, "%s",
		    text ? text
			 : "the XMPP server closed the stream after this "
			   "stanza");
		return;
	case OUTCOME_THROTTLED: {
		const char *r = frame_get(f, FIELD_RETRY);
		unsigned long long secs = x->c->retry_after;

		if (r != NULL)
			(void)xr_parse_uint(r, 1, 86400, &secs);
		ob_headerf(hdr, "Retry-After", "%llu", secs);
		fail(x, 429, hdr, "%s",
		    text ? text : "too many failed attempts");
		return;
	}
	case OUTCOME_COUNT:
		break;
	}
	fail(x, 502, hdr, "the bridge gave an unknown outcome");
}

/* Each worker thread keeps its connection to the bridge. */
static _Thread_local struct bridge_conn kept = {-1};

static void
submit(struct ctx *x, const struct stanza *st)
{
	static _Thread_local uint32_t seq; /* one sequence per worker */
	struct frame_out fo = {0};
	struct frame f;
	char err[XR_ERRLEN];
	unsigned long timeout_ms;
	enum wait_for wait = WAIT_SENT;
	enum bridge_rc rc;

	if (request_timeout(x, &timeout_ms) < 0)
		return;
	if (strcmp(st->kind, "iq") == 0)
		wait = WAIT_IQ_REPLY;
	else if (st->wants_receipt)
		wait = WAIT_RECEIPT;
	if (seq == 0)
		seq = xr_random_u32() | 1;
	seq++;
	frame_begin(&fo, FRAME_SUBMIT, seq);
	frame_put_str(&fo, FIELD_KIND, st->kind);
	frame_put_str(&fo, FIELD_ID, st->id);
	frame_put_str(&fo, FIELD_TO, st->to);
	frame_put_str(&fo, FIELD_FROM, st->from);
	frame_put_str(&fo, FIELD_TYPE, st->type);
	frame_put(&fo, FIELD_STANZA, st->xml, st->xml_len);
	frame_put_uint(&fo, FIELD_TIMEOUT, timeout_ms);
	frame_put_str(&fo, FIELD_WAIT, wait_name(wait));
	frame_put_str(&fo, FIELD_AUTHORIZATION, authorization(x->io));
	frame_put_str(
	    &fo, FIELD_REMOTE_USER, x->io->param(x->io, "REMOTE_USER"));
	frame_put_str(
	    &fo, FIELD_REMOTE_ADDR, x->io->param(x->io, "REMOTE_ADDR"));
	if (frame_finish(&fo, err, sizeof(err)) < 0) {
		frame_out_free(&fo);
		fail(x, 500, NULL, "%s", err);
		return;
	}
	rc = bridge_call(&kept, x->c->socket, &fo, seq,
	    (int)timeout_ms + BRIDGE_GRACE_MS, &f, err, sizeof(err));
	frame_out_free(&fo);
	switch (rc) {
	case BRIDGE_OK:
		respond_outcome(x, st, &f, timeout_ms);
		frame_clear(&f);
		return;
	case BRIDGE_UNREACHABLE: {
		struct heads h;
		struct outbuf *retry = heads_init(&h);

		ob_headerf(retry, "Retry-After", "%lu", x->c->retry_after);
		log_warnx("bridge not running (%s)", err);
		fail(x, 503, retry, "bridge not running (%s)", err);
		return;
	}
	case BRIDGE_TIMEOUT:
		fail(x, 504, NULL, "%s", err);
		return;
	case BRIDGE_BROKEN:
		break;
	}
	log_warnx("bad answer from the bridge: %s", err);
	fail(x, 502, NULL, "bad answer from the bridge: %s", err);
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

static void
serve_status(struct ctx *x)
{
	struct frame f;
	char err[XR_ERRLEN];
	struct heads h;
	struct outbuf *hdr = heads_init(&h);
	const char *text;

	switch (bridge_status(
	    x->c->socket, STATUS_TIMEOUT_MS, &f, err, sizeof(err))) {
	case BRIDGE_OK:
		text = frame_get(&f, FIELD_TEXT);
		ob_header(hdr, "Cache-Control", "no-store");
		reply_send(
		    x->io, 200, hdr, "application/json", text, strlen(text));
		break;
	case BRIDGE_UNREACHABLE:
	case BRIDGE_TIMEOUT:
		ob_headerf(hdr, "Retry-After", "%lu", x->c->retry_after);
		fail(x, 503, hdr, "bridge not running (%s)", err);
		return;
	case BRIDGE_BROKEN:
		fail(x, 502, NULL, "%s", err);
		return;
	}
	frame_clear(&f);
}

void
request_serve(struct io *io, const struct conf *c, const char *conf_err)
{
	const char *method = io->param(io, "REQUEST_METHOD");
	const char *ct = io->param(io, "CONTENT_TYPE");
	struct ctx x = {io, c, reply_format(io->param(io, "HTTP_ACCEPT"))};
	struct stanza_limits lim;
	struct stanza st;
	struct stanza_error se;
	char why[XR_ERRLEN], *body = NULL;
	size_t len = 0;
	int status;
	struct heads h;
	struct outbuf *allow = heads_init(&h);

	ob_header(allow, "Allow", ALLOW);
	if (method != NULL && strcmp(method, "OPTIONS") == 0) {
		reply_send(io, 204, allow, NULL, NULL, 0);
		return;
	}
	if (method != NULL && strcmp(method, "GET") == 0 && is_status(io) &&
	    c != NULL) {
		serve_status(&x);
		return;
	}
	if (method == NULL || strcmp(method, "POST") != 0) {
		fail(&x, 405, allow, "method %s not allowed; use POST",
		    method ? method : "(none)");
		return;
	}
	if (c == NULL) {
		log_warnx("%s", conf_err);
		fail(&x, 500, NULL, "configuration error: %s", conf_err);
		return;
	}
	if (ct == NULL || *ct == '\0') {
		fail(&x, 415, NULL,
		    "missing Content-Type; expected " MEDIA_TYPE);
		return;
	}
	if (!media_type_ok(ct)) {
		fail(&x, 415, NULL,
		    "Content-Type must be " MEDIA_TYPE ", not '%.100s'", ct);
		return;
	}
	if ((status = read_body(&x, &body, &len, why, sizeof(why))) != 0) {
		fail(&x, status, NULL, "%s", why);
		return;
	}
	lim.max_bytes = c->max_stanza_bytes;
	lim.max_depth = c->max_stanza_depth;
	lim.max_attrs = c->max_stanza_attributes;
	if (stanza_parse(body, len, &lim, c->jid, &st, &se) < 0) {
		free(body);
		fail(&x, se.status, NULL, "%s", se.text);
		return;
	}
	free(body);
	submit(&x, &st);
	stanza_free(&st);
}
