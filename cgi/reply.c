/*
 * Responses.  Every error body names the problem in one line; the JSON
 * and XML forms carry the same type, condition and text, so a script can
 * branch on the condition whatever format it asked for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_out.h"
#include "ns.h"
#include "reply.h"
#include "xmpp_error.h"

static const struct {
	int code;
	const char *phrase;
} phrases[] = {
    {200, "OK"},
    {202, "Accepted"},
    {204, "No Content"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {409, "Conflict"},
    {410, "Gone"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

/* The contract's table (docs/API.md); anything else is 502. */
static const struct {
	const char *condition;
	int status;
} condition_status[] = {
    {"bad-request", 400},
    {"jid-malformed", 400},
    {"unexpected-request", 400},
    {"not-authorized", 403},
    {"forbidden", 403},
    {"registration-required", 403},
    {"subscription-required", 403},
    {"policy-violation", 403},
    {"payment-required", 402},
    {"item-not-found", 404},
    {"not-allowed", 405},
    {"not-acceptable", 406},
    {"conflict", 409},
    {"gone", 410},
    {"resource-constraint", 503},
    {"service-unavailable", 503},
    {"recipient-unavailable", 503},
    {"feature-not-implemented", 501},
    {"internal-server-error", 500},
    {"remote-server-not-found", 502},
    {"remote-server-timeout", 504},
};

/* How our own refusals read as XMPP errors, for JSON and XML bodies. */
static const struct {
	int status;
	const char *type, *condition;
} status_condition[] = {
    {400, "modify", "bad-request"},
    {401, "auth", "not-authorized"},
    {402, "auth", "payment-required"},
    {403, "auth", "forbidden"},
    {404, "cancel", "item-not-found"},
    {405, "cancel", "not-allowed"},
    {406, "modify", "not-acceptable"},
    {409, "cancel", "conflict"},
    {410, "cancel", "gone"},
    {413, "modify", "policy-violation"},
    {415, "cancel", "feature-not-implemented"},
    {422, "modify", "bad-request"},
    {429, "wait", "policy-violation"},
    {500, "wait", "internal-server-error"},
    {501, "cancel", "feature-not-implemented"},
    {502, "cancel", "remote-server-not-found"},
    {503, "wait", "service-unavailable"},
    {504, "wait", "remote-server-timeout"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *
phrase_of(int status)
{
	for (size_t i = 0; i < NELEM(phrases); i++) {
		if (phrases[i].code == status)
			return phrases[i].phrase;
	}
	return "Error";
}

int
reply_status_for_condition(const char *condition)
{
	for (size_t i = 0; condition && i < NELEM(condition_status); i++) {
		if (strcmp(condition_status[i].condition, condition) == 0)
			return condition_status[i].status;
	}
	return 502;
}

void
reply_condition_for_status(
    int status, const char **type, const char **condition)
{
	for (size_t i = 0; i < NELEM(status_condition); i++) {
		if (status_condition[i].status == status) {
			*type = status_condition[i].type;
			*condition = status_condition[i].condition;
			return;
		}
	}
	*type = "cancel";
	*condition = "undefined-condition";
}

/* Is media type t listed in accept, with a q other than 0? */
static int
accepts(const char *accept, const char *t)
{
	size_t tlen = strlen(t);
	const char *p = accept;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		if (n >= tlen && strncasecmp(p, t, tlen) == 0 &&
		    (n == tlen || p[tlen] == ';' || p[tlen] == ' ')) {
			const char *q = p + tlen;
			int zero = 0;

			/* "q=0", "q=0.0", "q=0.000" refuse the type. */
			while ((q = strstr(q, "q=")) != NULL && q < p + n) {
				q += 2;
				zero = *q == '0';
				for (q++; zero && q < p + n && *q != ';'; q++)
					zero = *q == '0' || *q == '.';
				break;
			}
			if (!zero)
				return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

enum body_format
reply_format(const char *accept)
{
	if (accept == NULL)
		return BODY_DEFAULT;
	if (accepts(accept, "application/xmpp+xml"))
		return BODY_XML;
	if (accepts(accept, "application/json"))
		return BODY_JSON;
	if (accepts(accept, "text/plain"))
		return BODY_TEXT;
	return BODY_DEFAULT;
}

/* The answer when our own headers would not fit or held a control
 * character: nothing of them goes out. */
static void
send_500(struct io *io, const char *why)
{
	char head[256], body[160];
	int b = snprintf(body, sizeof(body), "%s\n", why);
	int h;

	if (b < 0 || (size_t)b >= sizeof(body))
		b = 0;
	h = snprintf(head, sizeof(head),
	    "Status: 500 Internal Server Error\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %d\r\n\r\n",
	    b);
	if (h < 0 || (size_t)h >= sizeof(head))
		return;
	io->write(io, head, h);
	io->write(io, body, b);
}

void
reply_send(struct io *io, int status, const struct outbuf *headers,
    const char *ctype, const char *body, size_t len)
{
	char buf[REPLY_HEAD_MAX];
	struct outbuf head;

	if (headers != NULL && headers->refused) {
		send_500(io, "a response header held a control character");
		return;
	}
	ob_init(&head, buf, sizeof(buf));
	ob_printf(&head, "Status: %d %s\r\n", status, phrase_of(status));
	/* RFC 9110 §15.5.6: every 405 names the allowed methods, also when
	 * it maps an XMPP not-allowed error. */
	if (status == 405 &&
	    (headers == NULL || !strstr(headers->buf, "Allow:")))
		ob_header(&head, "Allow", "POST, OPTIONS");
	if (headers != NULL)
		ob_put(&head, headers->buf, headers->len);
	if (ctype != NULL) {
		ob_header(&head, "Content-Type", ctype);
		ob_headerf(&head, "Content-Length", "%zu", len);
	} else {
		ob_header(&head, "Content-Length", "0");
	}
	ob_puts(&head, "\r\n");
	if (head.truncated || head.refused ||
	    (headers != NULL && headers->truncated)) {
		send_500(io, "the response headers did not fit");
		return;
	}
	io->write(io, head.buf, (int)head.len);
	if (ctype != NULL && len > 0)
		io->write(io, body, (int)len);
}

/* The {"type":"error",...} document of docs/API.md. */
static void
send_json_error(struct io *io, int status, const struct outbuf *headers,
    const char *type, const char *condition, const char *text)
{
	json_t *e = json_object(), *j = json_object();
	size_t len = 0;
	char *doc;

	if (e != NULL && j != NULL) {
		json_object_set_new(e, "type", xr_json_text(type, 64));
		json_object_set_new(
		    e, "condition", xr_json_text(condition, XR_CONDITION_MAX));
		json_object_set_new(
		    e, "text", xr_json_text(text, REPLY_TEXT_MAX));
		json_object_set_new(j, "type", json_string("error"));
		json_object_set_new(j, "error", e);
		json_object_set_new(j, "code", json_integer(status));
		e = NULL;
	}
	json_decref(e);
	if ((doc = xr_json_dump(j, &len)) == NULL) {
		send_500(io, "out of memory");
		return;
	}
	reply_send(io, status, headers, "application/json", doc, len);
	free(doc);
}

/* text as one line (escaped for XML if xml), cut to REPLY_TEXT_MAX with a
 * marker. */
static void
put_text(struct outbuf *ob, const char *text, int xml)
{
	size_t n = ob_utf8_cut(text, REPLY_TEXT_MAX);

	for (size_t i = 0; i < n; i++) {
		/* One line, whatever the XMPP side put in its <text/>. */
		char c[2] = {text[i], '\0'};

		if (c[0] == '\n' || c[0] == '\r')
			c[0] = ' ';
		if (xml)
			ob_put_xml(ob, c);
		else
			ob_put(ob, c, 1);
	}
	if (n < strlen(text))
		ob_puts(ob, REPLY_CUT_MARK);
}

void
reply_error(struct io *io, enum body_format fmt, int status,
    const struct outbuf *headers, const char *type, const char *condition,
    const char *text, const char *stanza)
{
	char buf[REPLY_TEXT_MAX + 512];
	struct outbuf body;
	const char *dtype, *dcond;

	reply_condition_for_status(status, &dtype, &dcond);
	if (type == NULL || condition == NULL) {
		type = dtype;
		condition = dcond;
	}
	type = xr_error_type(type);
	condition = xr_error_condition(condition);
	if (text == NULL)
		text = condition;
	ob_init(&body, buf, sizeof(buf));
	switch (fmt) {
	case BODY_JSON:
		send_json_error(io, status, headers, type, condition, text);
		return;
	case BODY_DEFAULT:
	case BODY_XML:
		/* docs/API.md: what the XMPP side said is the default body. */
		if (stanza != NULL) {
			reply_send(io, status, headers, "application/xmpp+xml",
			    stanza, strlen(stanza));
			return;
		}
		if (fmt == BODY_DEFAULT)
			break;
		ob_puts(&body, "<error type='");
		ob_put_xml(&body, type);
		ob_puts(&body, "'><");
		ob_puts(&body, condition);
		ob_puts(&body,
		    " xmlns='" NS_STANZAS "'/><text xmlns='" NS_STANZAS "'>");
		put_text(&body, text, 1);
		ob_puts(&body, "</text></error>\n");
		break;
	case BODY_TEXT:
		break;
	}
	if (fmt != BODY_XML) {
		put_text(&body, text, 0);
		ob_puts(&body, "\n");
	}
	if (body.truncated) {
		send_500(io, "an error body did not fit");
		return;
	}
	reply_send(io, status, headers,
	    fmt == BODY_XML ? "application/xmpp+xml"
			    : "text/plain; charset=utf-8",
	    body.buf, body.len);
}
