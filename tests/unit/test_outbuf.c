/*
 * The bounded writer, and the responses built on it: nothing a peer sends
 * can write past a buffer, a header never carries CR/LF, JSON is jansson's.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_out.h"
#include "outbuf.h"
#include "reply.h"
#include "t.h"

static void
t_bounds(void)
{
	char buf[8], big[64];
	struct outbuf ob;

	ob_init(&ob, buf, sizeof(buf));
	ob_puts(&ob, "abcd");
	T_OK(!ob.truncated && ob.len == 4, "a short put fits");
	ob_puts(&ob, "efghij");
	T_EQ_STR(ob.buf, "abcdefg", "a long put keeps what fits");
	T_OK(ob.truncated && ob.len == 7, "and records the cut");
	ob_printf(&ob, "%d", 12345);
	T_EQ_INT(ob.len, 7, "a full buffer stays full");

	ob_init(&ob, buf, sizeof(buf));
	ob_printf(&ob, "%s", "0123456789");
	T_OK(ob.truncated && strcmp(ob.buf, "0123456") == 0,
	    "printf past the end is clamped, never added up");

	ob_init(&ob, big, sizeof(big));
	ob_put_xml(&ob, "<a href='x'>&\"</a>");
	T_EQ_STR(ob.buf, "&lt;a href=&apos;x&apos;&gt;&amp;&quot;&lt;/a&gt;",
	    "XML escaping covers text and both attribute quotes");
}

static void
t_headers(void)
{
	char buf[32];
	struct outbuf ob;

	ob_init(&ob, buf, sizeof(buf));
	T_EQ_INT(ob_header(&ob, "X-Stanza-Id", "abc"), 0, "a plain header");
	T_EQ_STR(ob.buf, "X-Stanza-Id: abc\r\n", "is one line");
	T_EQ_INT(ob_header(&ob, "X-Stanza-Id", "x\r\nSet-Cookie: sid=a"), -1,
	    "a value with CR LF is refused");
	T_OK(ob.refused && strstr(ob.buf, "Set-Cookie") == NULL,
	    "and nothing of it is written");
	ob_init(&ob, buf, sizeof(buf));
	T_EQ_INT(ob_header(&ob, "X", "a\001b"), -1, "any control is refused");
	T_EQ_INT(ob_header(&ob, "X", "a\tb"), 0, "HTAB is allowed");
	T_EQ_INT(ob_header(&ob, "Long", "0123456789012345678901234567"), -1,
	    "a header that does not fit is refused whole");
	T_OK(ob.truncated && strcmp(ob.buf, "X: a\tb\r\n") == 0,
	    "leaving the earlier lines intact");
}

static void
t_utf8(void)
{
	const char *s = "a\xc3\xa9z"; /* a é z */
	json_t *j;

	T_EQ_INT(ob_utf8_cut(s, 2), 1, "a cut never splits a character");
	T_EQ_INT(ob_utf8_cut(s, 3), 3, "a whole character is kept");
	j = xr_json_text("\xff\xfe ok", 64);
	T_OK(j != NULL && strcmp(json_string_value(j), "?? ok") == 0,
	    "bytes that are not UTF-8 become '?' in JSON");
	json_decref(j);
}

/* ---- responses through a struct io that keeps what is written ---- */

struct sink {
	struct io io;
	char *out;
	size_t len;
};

static int
sink_write(struct io *io, const char *buf, int len)
{
	struct sink *s = (struct sink *)io;
	char *p = realloc(s->out, s->len + (size_t)len + 1);

	if (p == NULL)
		return -1;
	memcpy(p + s->len, buf, (size_t)len);
	s->out = p;
	s->len += (size_t)len;
	s->out[s->len] = '\0';
	return len;
}

static void
sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	s->io.write = sink_write;
}

/* The body after the blank line, and a check that Content-Length fits. */
static const char *
body_of(const struct sink *s, size_t *clen)
{
	const char *b = strstr(s->out, "\r\n\r\n");
	const char *cl = strstr(s->out, "Content-Length: ");

	*clen = cl ? strtoul(cl + 16, NULL, 10) : (size_t)-1;
	return b ? b + 4 : NULL;
}

static void
t_reply_long_type(void)
{
	char type[4200], text[6000];
	struct sink s;
	json_t *j;
	json_error_t e;
	size_t clen;
	const char *body;

	memset(type, 'A', sizeof(type) - 1);
	type[sizeof(type) - 1] = '\0';
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	sink_init(&s);
	reply_error(
	    &s.io, BODY_JSON, 404, NULL, type, "item-not-found", text, NULL);
	body = body_of(&s, &clen);
	T_OK(body != NULL && strlen(body) == clen,
	    "a 4 KB error type in JSON: Content-Length matches the body");
	j = body ? json_loads(body, JSON_REJECT_DUPLICATES, &e) : NULL;
	T_OK(j != NULL, "and the body parses");
	T_EQ_STR(json_string_value(
		     json_object_get(json_object_get(j, "error"), "type")),
	    "cancel", "an unknown error type reads as cancel");
	json_decref(j);
	free(s.out);

	sink_init(&s);
	reply_error(
	    &s.io, BODY_XML, 404, NULL, type, "item-not-found", text, NULL);
	body = body_of(&s, &clen);
	T_OK(body != NULL && strlen(body) == clen &&
		strstr(body, REPLY_CUT_MARK "</text></error>") != NULL,
	    "a long text in XML is cut with a marker");
	free(s.out);
}

static void
t_reply_headers(void)
{
	char big[REPLY_HEAD_MAX], hv[900];
	struct outbuf ob;
	struct sink s;

	ob_init(&ob, big, sizeof(big));
	memset(hv, 'v', sizeof(hv) - 1);
	hv[sizeof(hv) - 1] = '\0';
	for (int i = 0; i < 8; i++)
		ob_header(&ob, "WWW-Authenticate", hv);
	sink_init(&s);
	reply_send(&s.io, 401, &ob, "text/plain", "x\n", 2);
	T_OK(strncmp(s.out, "Status: 500 ", 12) == 0 &&
		strstr(s.out, "vvvv") == NULL,
	    "headers that do not fit answer a bare 500");
	free(s.out);

	ob_init(&ob, big, sizeof(big));
	ob_header(&ob, "X-Stanza-Id", "x\r\nSet-Cookie: sid=a");
	sink_init(&s);
	reply_send(&s.io, 202, &ob, "text/plain", "x\n", 2);
	T_OK(strstr(s.out, "Set-Cookie") == NULL,
	    "a refused header value never reaches the response");
	free(s.out);
}

static void
t_reply_default(void)
{
	const char *st = "<iq type='error'/>";
	struct sink s;
	size_t clen;

	sink_init(&s);
	reply_error(&s.io, reply_format(NULL), 404, NULL, "cancel",
	    "item-not-found", "gone", st);
	T_OK(strstr(s.out, "Content-Type: application/xmpp+xml") != NULL &&
		strcmp(body_of(&s, &clen), st) == 0,
	    "no Accept: an XMPP-side error is its stanza");
	free(s.out);
	sink_init(&s);
	reply_error(
	    &s.io, reply_format(NULL), 422, NULL, NULL, NULL, "bad id", NULL);
	T_OK(strstr(s.out, "Content-Type: text/plain") != NULL &&
		strcmp(body_of(&s, &clen), "bad id\n") == 0,
	    "no Accept: our own error is one line of text");
	free(s.out);
	T_EQ_INT(reply_format("text/plain"), BODY_TEXT, "Accept: text/plain");
	T_EQ_INT(reply_format("*/*"), BODY_DEFAULT, "Accept: */* is no choice");
}

int
main(void)
{
	t_bounds();
	t_headers();
	t_utf8();
	t_reply_long_type();
	t_reply_headers();
	t_reply_default();
	return t_done();
}
