/*
 * From what the request was and what the bridge said to the HTTP
 * response: every status, header and body here is docs/API.md's.  The
 * bridge's OUTCOME frame names one outcome; each has one function below.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "reply.h"
#include "respond.h"
#include "xmpp_error.h"

#define ALLOW "POST, OPTIONS"

struct ctx {
	struct io *io;
	const struct conf *c;
	const struct request *rq;
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

static void fail(const struct ctx *x, int status, const struct outbuf *headers,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(const struct ctx *x, int status, const struct outbuf *headers,
    const char *fmt, ...)
{
	char text[XR_ERRLEN * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	reply_error(x->io, x->fmt, status, headers, NULL, NULL, text, NULL);
}

/* 401 with one WWW-Authenticate per scheme the bridge accepts; hdr
 * already holds the other headers. */
static void
respond_unauthorized(
    const struct ctx *x, const struct frame *f, struct outbuf *hdr)
{
	const char *ch = frame_get(f, FIELD_CHALLENGE);
	const char *text = frame_get(f, FIELD_TEXT);
	const char *sw = x->rq->server_software;

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
	if (x->rq->authorization == NULL && sw != NULL &&
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
respond_sent(const struct ctx *x, const struct outbuf *hdr)
{
	const struct stanza *st = &x->rq->st;
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

static void
respond_reply(const struct ctx *x, const struct frame *f, struct outbuf *hdr)
{
	const char *stanza = frame_get(f, FIELD_STANZA);

	if (stanza == NULL) {
		fail(x, 502, hdr, "the bridge sent a reply without a stanza");
		return;
	}
	reply_send(x->io, 200, hdr, "application/xmpp+xml", stanza,
	    f->flen[FIELD_STANZA]);
}

/* An XMPP error stanza came back: its condition picks the status. */
static void
respond_xmpp_error(
    const struct ctx *x, const struct frame *f, struct outbuf *hdr)
{
	const char *cond = frame_get(f, FIELD_CONDITION);
	const char *text = frame_get(f, FIELD_TEXT);
	const char *etype = xr_error_type(frame_get(f, FIELD_ERRTYPE));
	int status = reply_status_for_condition(cond);
	char line[REPLY_TEXT_MAX + 128];
	struct outbuf msg;

	cond = xr_error_condition(cond);
	ob_init(&msg, line, sizeof(line));
	ob_printf(&msg, "%s (%s)", cond, etype);
	if (text != NULL) {
		ob_puts(&msg, ": ");
		ob_put(&msg, text, ob_utf8_cut(text, XR_ERROR_TEXT_MAX));
	}
	reply_error(x->io, x->fmt, status, hdr, etype, cond,
	    x->fmt == BODY_TEXT || x->fmt == BODY_DEFAULT
		? msg.buf
		: (text ? text : cond),
	    frame_get(f, FIELD_STANZA));
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
respond_throttled(
    const struct ctx *x, const struct frame *f, struct outbuf *hdr)
{
	const char *r = frame_get(f, FIELD_RETRY);
	const char *text = frame_get(f, FIELD_TEXT);
	unsigned long long secs = x->c->retry_after;

	if (r != NULL)
		(void)xr_parse_uint(r, 1, 86400, &secs);
	ob_headerf(hdr, "Retry-After", "%llu", secs);
	fail(x, 429, hdr, "%s", text ? text : "too many failed attempts");
}

/* The answer to a SUBMIT, as its OUTCOME frame f says. */
static void
respond_outcome(const struct ctx *x, const struct frame *f)
{
	const char *name = frame_get(f, FIELD_OUTCOME);
	const char *text = frame_get(f, FIELD_TEXT);
	struct heads h;
	struct outbuf *hdr = heads_init(&h);
	enum outcome o;

	ob_header(hdr, "X-Stanza-Id", x->rq->st.id);
	if (name == NULL || outcome_parse(name, &o) < 0)
		o = OUTCOME_COUNT;
	switch (o) {
	case OUTCOME_SENT:
		respond_sent(x, hdr);
		return;
	case OUTCOME_REPLY:
		respond_reply(x, f, hdr);
		return;
	case OUTCOME_ERROR:
		respond_xmpp_error(x, f, hdr);
		return;
	case OUTCOME_TIMEOUT:
		fail(x, 504, hdr, "no reply within %lu s",
		    (x->rq->timeout_ms + 999) / 1000);
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
	case OUTCOME_THROTTLED:
		respond_throttled(x, f, hdr);
		return;
	case OUTCOME_COUNT:
		break;
	}
	fail(x, 502, hdr, "the bridge gave an unknown outcome");
}

/* 503 with Retry-After: no bridge answered on its socket. */
static void
respond_no_bridge(const struct ctx *x, const struct exchange *ex)
{
	struct heads h;
	struct outbuf *hdr = heads_init(&h);

	ob_headerf(hdr, "Retry-After", "%lu", x->c->retry_after);
	fail(x, 503, hdr, "bridge not running (%s)", ex->err);
}

static void
respond_submitted(const struct ctx *x, const struct exchange *ex)
{
	if (ex->state != EXCHANGE_DONE) {
		fail(x, 500, NULL, "%s", ex->err);
		return;
	}
	switch (ex->rc) {
	case BRIDGE_OK:
		respond_outcome(x, &ex->f);
		return;
	case BRIDGE_UNREACHABLE:
		respond_no_bridge(x, ex);
		return;
	case BRIDGE_TIMEOUT:
		fail(x, 504, NULL, "%s", ex->err);
		return;
	case BRIDGE_BROKEN:
		break;
	}
	fail(x, 502, NULL, "bad answer from the bridge: %s", ex->err);
}

/* The bridge's status report, as it wrote it.  A bridge too slow to
 * report is as good as none for a health check. */
static void
respond_status(const struct ctx *x, const struct exchange *ex)
{
	struct heads h;
	struct outbuf *hdr = heads_init(&h);
	const char *text;

	switch (ex->rc) {
	case BRIDGE_OK:
		text = frame_get(&ex->f, FIELD_TEXT);
		ob_header(hdr, "Cache-Control", "no-store");
		reply_send(
		    x->io, 200, hdr, "application/json", text, strlen(text));
		return;
	case BRIDGE_UNREACHABLE:
	case BRIDGE_TIMEOUT:
		respond_no_bridge(x, ex);
		return;
	case BRIDGE_BROKEN:
		fail(x, 502, NULL, "%s", ex->err);
		return;
	}
}

void
respond(struct io *io, const struct conf *c, const struct request *rq,
    const struct exchange *ex)
{
	struct ctx x = {io, c, rq, reply_format(rq->accept)};
	struct heads h;
	struct outbuf *allow = heads_init(&h);

	switch (rq->kind) {
	case REQUEST_OPTIONS:
		ob_header(allow, "Allow", ALLOW);
		reply_send(io, 204, allow, NULL, NULL, 0);
		return;
	case REQUEST_REFUSED:
		/* RFC 9110 §15.5.6: a 405 names the methods allowed. */
		if (rq->status == 405)
			ob_header(allow, "Allow", ALLOW);
		reply_error(io, x.fmt, rq->status,
		    rq->status == 405 ? allow : NULL, NULL, NULL, rq->text,
		    NULL);
		return;
	case REQUEST_STATUS:
		respond_status(&x, ex);
		return;
	case REQUEST_SUBMIT:
		respond_submitted(&x, ex);
		return;
	}
}
