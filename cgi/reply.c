/*
 * Responses.  Every error body names the problem in one line; the JSON
 * and XML forms carry the same type, condition and text, so a script can
 * branch on the condition whatever format it asked for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reply.h"

#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

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
		return BODY_TEXT;
	if (accepts(accept, "application/xmpp+xml"))
		return BODY_XML;
	if (accepts(accept, "application/json"))
		return BODY_JSON;
	return BODY_TEXT;
}

void
reply_send(struct io *io, int status, const char *headers, const char *ctype,
    const char *body, size_t len)
{
	char head[1024];
	int n;

	/* RFC 9110 §15.5.6: every 405 names the allowed methods, also when
	 * it maps an XMPP not-allowed error. */
	if (status == 405 && (headers == NULL || !strstr(headers, "Allow:")))
		n = snprintf(head, sizeof(head),
		    "Status: %d %s\r\nAllow: POST, OPTIONS\r\n%s", status,
		    phrase_of(status), headers ? headers : "");
	else
		n = snprintf(head, sizeof(head), "Status: %d %s\r\n%s", status,
		    phrase_of(status), headers ? headers : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		n = snprintf(head, sizeof(head), "Status: %d %s\r\n", status,
		    phrase_of(status));
	if (ctype != NULL) {
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, len);
	} else {
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Content-Length: 0\r\n");
	}
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	io->write(io, head, n);
	if (ctype != NULL && len > 0)
		io->write(io, body, (int)len);
}

/* Appends s to out (cap bytes) escaped for JSON or XML; returns length. */
static size_t
escape(char *out, size_t cap, size_t n, const char *s, int json)
{
	for (; s && *s && n + 8 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (json && (c == '"' || c == '\\'))
			n += (size_t)snprintf(out + n, cap - n, "\\%c", c);
		else if (json && c < 0x20)
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		else if (!json && c == '<')
			n += (size_t)snprintf(out + n, cap - n, "&lt;");
		else if (!json && c == '>')
			n += (size_t)snprintf(out + n, cap - n, "&gt;");
		else if (!json && c == '&')
			n += (size_t)snprintf(out + n, cap - n, "&amp;");
		else if (!json && c == '\'')
			n += (size_t)snprintf(out + n, cap - n, "&apos;");
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return n;
}

void
reply_error(struct io *io, enum body_format fmt, int status,
    const char *headers, const char *type, const char *condition,
    const char *text, const char *stanza)
{
	char body[4096];
	size_t n = 0;
	const char *dtype, *dcond;

	reply_condition_for_status(status, &dtype, &dcond);
	if (type == NULL || condition == NULL) {
		type = dtype;
		condition = dcond;
	}
	if (text == NULL)
		text = condition;
	switch (fmt) {
	case BODY_JSON:
		n = (size_t)snprintf(body, sizeof(body),
		    "{\"type\":\"error\",\"error\":{\"type\":\"");
		n = escape(body, sizeof(body), n, type, 1);
		n += (size_t)snprintf(
		    body + n, sizeof(body) - n, "\",\"condition\":\"");
		n = escape(body, sizeof(body), n, condition, 1);
		n += (size_t)snprintf(
		    body + n, sizeof(body) - n, "\",\"text\":\"");
		n = escape(body, sizeof(body) - 32, n, text, 1);
		n += (size_t)snprintf(
		    body + n, sizeof(body) - n, "\"},\"code\":%d}\n", status);
		reply_send(io, status, headers, "application/json", body, n);
		return;
	case BODY_XML:
		if (stanza != NULL) {
			reply_send(io, status, headers, "application/xmpp+xml",
			    stanza, strlen(stanza));
			return;
		}
		n = (size_t)snprintf(body, sizeof(body), "<error type='");
		n = escape(body, sizeof(body), n, type, 0);
		n += (size_t)snprintf(body + n, sizeof(body) - n, "'><");
		n = escape(body, sizeof(body), n, condition, 0);
		n += (size_t)snprintf(body + n, sizeof(body) - n,
		    " xmlns='" NS_STANZAS "'/><text xmlns='" NS_STANZAS "'>");
		n = escape(body, sizeof(body) - 64, n, text, 0);
		n += (size_t)snprintf(
		    body + n, sizeof(body) - n, "</text></error>\n");
		reply_send(
		    io, status, headers, "application/xmpp+xml", body, n);
		return;
	case BODY_TEXT:
		break;
	}
	n = (size_t)snprintf(body, sizeof(body) - 1, "%s", text);
	if (n >= sizeof(body) - 1)
		n = sizeof(body) - 2;
	/* One line, whatever the XMPP side put in its <text/>. */
	for (size_t i = 0; i < n; i++) {
		if (body[i] == '\n' || body[i] == '\r')
			body[i] = ' ';
	}
	body[n++] = '\n';
	reply_send(io, status, headers, "text/plain; charset=utf-8", body, n);
}
