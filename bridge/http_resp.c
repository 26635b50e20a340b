/*
 * The response parser (http_resp.h).  It works on any prefix of the bytes
 * received: a prefix of a valid response always asks for more, never
 * fails, so the client can parse after every read.  Invariants: it reads
 * nothing past len and allocates at most max_body + 1 bytes, and only for
 * a complete response.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_priv.h"
#include "http_resp.h"

#define CHUNK_LINE_MAX 4096 /* a chunk-size line with its extensions */

struct head {
	int status;
	int minor;      /* HTTP/1.x */
	int conn_close; /* Connection: close */
	int te;         /* a Transfer-Encoding was sent */
	int chunked;    /* ... and its last coding is chunked */
	int has_cl;
	uint64_t cl;
	int has_ctype;
	unsigned long retry_after;
	char reason[sizeof(((struct http_response *)0)->reason)];
	char ctype[sizeof(((struct http_response *)0)->content_type)];
};

static int
tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A control character other than HTAB (RFC 9110 §5.5). */
static int
ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int
ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Copies s[0..n) minus surrounding whitespace, cut to fit dst. */
static void
copy_trimmed(char *dst, size_t size, const char *s, size_t n)
{
	while (n > 0 && ows(*s)) {
		s++;
		n--;
	}
	while (n > 0 && ows(s[n - 1]))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int
name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

static int
parse_status_line(
    const char *s, size_t n, struct head *h, char *err, size_t errlen)
{
	/* "HTTP/1.x SSS" then end of line or " reason" */
	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
	    (s[7] != '0' && s[7] != '1') || s[8] != ' ' || s[9] < '1' ||
	    s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' ||
	    s[11] > '9' || (n > 12 && s[12] != ' ')) {
		http_seterr(err, errlen, "bad status line");
		return -1;
	}
	h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	h->minor = s[7] - '0';
	for (size_t i = 12; i < n; i++) {
		if (ctl((unsigned char)s[i])) {
			http_seterr(err, errlen,
			    "control character in the status line");
			return -1;
		}
	}
	if (n > 13)
		copy_trimmed(h->reason, sizeof(h->reason), s + 13, n - 13);
	return 0;
}

static int
parse_content_length(
    const char *v, size_t n, struct head *h, char *err, size_t errlen)
{
	uint64_t cl = 0;

	if (n == 0) {
		http_seterr(err, errlen, "empty Content-Length");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (v[i] < '0' || v[i] > '9') {
			http_seterr(err, errlen, "bad Content-Length");
			return -1;
		}
		d = (unsigned)(v[i] - '0');
		if (cl > (UINT64_MAX - d) / 10) {
			http_seterr(err, errlen, "Content-Length too large");
			return -1;
		}
		cl = cl * 10 + d;
	}
	if (h->has_cl && h->cl != cl) {
		http_seterr(err, errlen, "conflicting Content-Length headers");
		return -1;
	}
	h->has_cl = 1;
	h->cl = cl;
	return 0;
}

/*
 * Records whether the last transfer coding is chunked: if it is not, a
 * response is read until the connection closes (RFC 9112 §6.3).
 */
static int
parse_transfer_encoding(
    const char *v, size_t n, struct head *h, char *err, size_t errlen)
{
	size_t i = 0;
	int elems = 0;

	while (i < n) {
		size_t b, e;

		while (i < n && (ows(v[i]) || v[i] == ','))
			i++;
		if (i == n)
			break;
		b = i;
		while (i < n && tchar((unsigned char)v[i]))
			i++;
		e = i;
		while (i < n && ows(v[i]))
			i++;
		if (e == b || (i < n && v[i] != ',')) {
			http_seterr(err, errlen, "bad Transfer-Encoding");
			return -1;
		}
		h->chunked = name_is(v + b, e - b, "chunked");
		elems++;
	}
	if (elems == 0) {
		http_seterr(err, errlen, "empty Transfer-Encoding");
		return -1;
	}
	h->te = 1;
	return 0;
}

/*
 * Notes a "close" among the Connection options (RFC 9112 §9.6).  Other
 * options, and a malformed list, change nothing: the header only decides
 * whether the connection is kept, and keeping it is checked again before
 * the next use.
 */
static void
parse_connection(const char *v, size_t n, struct head *h)
{
	size_t i = 0;

	while (i < n) {
		size_t b;

		while (i < n && (ows(v[i]) || v[i] == ','))
			i++;
		b = i;
		while (i < n && v[i] != ',' && !ows(v[i]))
			i++;
		if (name_is(v + b, i - b, "close"))
			h->conn_close = 1;
		while (i < n && v[i] != ',')
			i++;
	}
}

/*
 * Retry-After as delta-seconds; an HTTP-date (or anything else) is
 * ignored rather than refused: the header only tunes our back-off.
 */
static void
parse_retry_after(const char *v, size_t n, struct head *h)
{
	unsigned long s = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return;
		if (s < HTTP_RETRY_AFTER_MAX)
			s = s * 10 + (unsigned long)(v[i] - '0');
	}
	h->retry_after = s < HTTP_RETRY_AFTER_MAX ? s : HTTP_RETRY_AFTER_MAX;
}

static int
parse_header_line(
    const char *s, size_t n, struct head *h, char *err, size_t errlen)
{
	size_t nl = 0, vb, ve;

	if (ows(s[0])) {
		http_seterr(
		    err, errlen, "obsolete line folding in the response head");
		return -1;
	}
	while (nl < n && tchar((unsigned char)s[nl]))
		nl++;
	if (nl == 0 || nl == n || s[nl] != ':') {
		http_seterr(err, errlen, "malformed header line");
		return -1;
	}
	for (size_t i = nl + 1; i < n; i++) {
		if (ctl((unsigned char)s[i])) {
			http_seterr(err, errlen,
			    "control character in header %.*s", (int)nl, s);
			return -1;
		}
	}
	vb = nl + 1;
	ve = n;
	while (vb < ve && ows(s[vb]))
		vb++;
	while (ve > vb && ows(s[ve - 1]))
		ve--;
	if (name_is(s, nl, "Content-Length"))
		return parse_content_length(s + vb, ve - vb, h, err, errlen);
	if (name_is(s, nl, "Transfer-Encoding"))
		return parse_transfer_encoding(s + vb, ve - vb, h, err, errlen);
	if (name_is(s, nl, "Retry-After"))
		parse_retry_after(s + vb, ve - vb, h);
	if (name_is(s, nl, "Connection"))
		parse_connection(s + vb, ve - vb, h);
	if (name_is(s, nl, "Content-Type") && !h->has_ctype) {
		h->has_ctype = 1;
		copy_trimmed(h->ctype, sizeof(h->ctype), s + vb, ve - vb);
	}
	return 0;
}

/* The head that starts at off is incomplete: 0 for more, or -1. */
static int
head_short(size_t len, size_t off, int lines, enum http_feed f, char *err,
    size_t errlen)
{
	if (len >= HTTP_HEAD_MAX) {
		http_seterr(err, errlen,
		    "response head is larger than %zu bytes (HTTP_HEAD_MAX)",
		    (size_t)HTTP_HEAD_MAX);
		return -1;
	}
	switch (f) {
	case HTTP_FEED_MORE:
		return 0;
	case HTTP_FEED_EOF:
		if (len == 0)
			http_seterr(err, errlen,
			    "connection closed without a response");
		else if (off == len && lines == 0)
			http_seterr(err, errlen,
			    "connection closed after an interim 1xx response");
		else
			http_seterr(err, errlen,
			    "connection closed inside the response head");
		return -1;
	case HTTP_FEED_CAPPED:
		break;
	}
	http_seterr(err, errlen, "response head incomplete at the receive cap");
	return -1;
}

/*
 * Parses the head that starts at off.  Heads are counted from the start
 * of the buffer, so interim 1xx heads share the HTTP_HEAD_MAX budget with
 * the final one and an endless stream of them is refused.
 */
static int
parse_head(const char *buf, size_t len, size_t off, enum http_feed f,
    struct head *h, size_t *end, char *err, size_t errlen)
{
	static const char proto[] = "HTTP/1.";
	size_t lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX, n;
	int lines = 0;

	memset(h, 0, sizeof(*h));
	if (off == len)
		return head_short(len, off, lines, f, err, errlen);
	/* Refuse at once a peer that speaks something else. */
	n = len - off < 7 ? len - off : 7;
	if (memcmp(buf + off, proto, n) != 0) {
		http_seterr(err, errlen, "not an HTTP/1.x response");
		return -1;
	}
	for (;;) {
		const char *nlp;
		size_t nl, ll;

		if (off >= lim)
			return head_short(len, off, lines, f, err, errlen);
		if ((nlp = memchr(buf + off, '\n', lim - off)) == NULL)
			return head_short(len, off, lines, f, err, errlen);
		nl = (size_t)(nlp - buf);
		ll = nl - off;
		if (ll > 0 && buf[nl - 1] == '\r')
			ll--;
		if (lines == 0) {
			if (parse_status_line(buf + off, ll, h, err, errlen) <
			    0)
				return -1;
		} else if (ll == 0) {
			*end = nl + 1;
			return 1;
		} else if (lines > HTTP_HEADERS_MAX) {
			http_seterr(err, errlen,
			    "more than %d header lines (HTTP_HEADERS_MAX)",
			    HTTP_HEADERS_MAX);
			return -1;
		} else if (parse_header_line(buf + off, ll, h, err, errlen) <
		    0) {
			return -1;
		}
		lines++;
		off = nl + 1;
	}
}

/* Appends up to the cap to out (when given) and counts what was kept. */
static void
keep(char *out, size_t *got, size_t max_body, const char *src, size_t n,
    int *cut)
{
	size_t room = max_body - *got;

	if (n > room) {
		*cut = 1;
		n = room;
	}
	if (out != NULL && n > 0)
		memcpy(out + *got, src, n);
	*got += n;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses a chunk-size line [s, s+n): hex digits, then [ ";" ext ]. */
static int
chunk_size(const char *s, size_t n, uint64_t *size, char *err, size_t errlen)
{
	uint64_t v = 0;
	size_t i = 0;
	int d;

	while (i < n && (d = hexval(s[i])) >= 0) {
		if (v > (UINT64_MAX >> 4)) {
			http_seterr(err, errlen, "chunk size too large");
			return -1;
		}
		v = (v << 4) | (uint64_t)d;
		i++;
	}
	if (i == 0) {
		http_seterr(err, errlen, "bad chunk size line");
		return -1;
	}
	while (i < n && ows(s[i]))
		i++;
	if (i < n && s[i] != ';') {
		http_seterr(err, errlen, "bad chunk size line");
		return -1;
	}
	for (; i < n; i++) {
		if (ctl((unsigned char)s[i])) {
			http_seterr(err, errlen,
			    "control character in a chunk "
			    "extension");
			return -1;
		}
	}
	*size = v;
	return 0;
}

/*
 * Finds the end of the line at off, held to max bytes from start: 1 with
 * *nl at its '\n', 0 when the bytes stop before it, -1 past the limit.
 */
static int
line_end(const char *buf, size_t len, size_t off, size_t start, size_t max,
    size_t *nl)
{
	size_t lim = len - start < max ? len : start + max;
	const char *nlp = NULL;

	if (off < lim)
		nlp = memchr(buf + off, '\n', lim - off);
	if (nlp != NULL) {
		*nl = (size_t)(nlp - buf);
		return 1;
	}
	return len - start < max ? 0 : -1;
}

/*
 * The chunks from *off through the last-chunk line, kept into out (when
 * given): 1 with *off past that line, 0 when the bytes stop short, -1.
 */
static int
chunks(const char *buf, size_t len, size_t *off, size_t max_body, char *out,
    size_t *got, int *cut, char *err, size_t errlen)
{
	for (;;) {
		size_t nl, ll, avail, n, o = *off;
		uint64_t size;
		int rc = line_end(buf, len, o, o, CHUNK_LINE_MAX, &nl);

		if (rc < 0)
			http_seterr(err, errlen,
			    "chunk size line longer than %d bytes",
			    CHUNK_LINE_MAX);
		if (rc != 1)
			return rc;
		ll = nl - o;
		if (ll > 0 && buf[nl - 1] == '\r')
			ll--;
		if (chunk_size(buf + o, ll, &size, err, errlen) < 0)
			return -1;
		*off = o = nl + 1;
		if (size == 0)
			return 1;
		avail = len - o;
		n = size < avail ? (size_t)size : avail;
		keep(out, got, max_body, buf + o, n, cut);
		if (n < size || o + n == len)
			return 0;
		o += n;
		if (buf[o] == '\r') {
			if (o + 1 == len)
				return 0;
			o++;
		}
		if (buf[o] != '\n') {
			http_seterr(
			    err, errlen, "chunk data not followed by CRLF");
			return -1;
		}
		*off = o + 1;
	}
}

/*
 * Trailer lines from off, then an empty line; held to HTTP_HEAD_MAX.
 * They are skipped: 1 with *end past them, 0 for more, -1.
 */
static int
trailers(const char *buf, size_t len, size_t off, size_t *end, char *err,
    size_t errlen)
{
	size_t start = off;

	for (;;) {
		size_t nl;
		int rc = line_end(buf, len, off, start, HTTP_HEAD_MAX, &nl);

		if (rc < 0)
			http_seterr(err, errlen,
			    "chunked trailers larger than %zu bytes "
			    "(HTTP_HEAD_MAX)",
			    (size_t)HTTP_HEAD_MAX);
		if (rc != 1)
			return rc;
		if (nl == off || (nl == off + 1 && buf[off] == '\r')) {
			*end = nl + 1;
			return 1;
		}
		off = nl + 1;
	}
}

/*
 * Decodes the chunked body at off into out (or only measures it when out
 * is NULL, so that the caller can allocate the exact size): 1 with *got
 * bytes kept, 0 for more, -1.  *end is where the message ended, or 0
 * when the receive cap cut it.
 */
static int
dechunk(const char *buf, size_t len, size_t off, enum http_feed f,
    size_t max_body, char *out, size_t *got, int *cut, size_t *end, char *err,
    size_t errlen)
{
	int rc;

	*got = 0;
	*cut = 0;
	*end = 0;
	rc = chunks(buf, len, &off, max_body, out, got, cut, err, errlen);
	if (rc == 1)
		rc = trailers(buf, len, off, end, err, errlen);
	if (rc != 0)
		return rc;
	switch (f) {
	case HTTP_FEED_MORE:
		return 0;
	case HTTP_FEED_EOF:
		http_seterr(
		    err, errlen, "connection closed inside the chunked body");
		return -1;
	case HTTP_FEED_CAPPED:
		break;
	}
	*cut = 1;
	return 1;
}

/*
 * Skips interim 1xx heads: 1 with the final head in h and *off past it,
 * 0 for more, -1.
 */
static int
final_head(const char *buf, size_t len, enum http_feed f, struct head *h,
    size_t *off, char *err, size_t errlen)
{
	for (;;) {
		int rc = parse_head(buf, len, *off, f, h, off, err, errlen);

		if (rc != 1)
			return rc;
		if (h->status >= 200)
			return 1;
		/* We never ask for an upgrade: what follows is not HTTP. */
		if (h->status == 101) {
			http_seterr(
			    err, errlen, "unexpected 101 Switching Protocols");
			return -1;
		}
	}
}

/* How much of the body at off is kept, and where the message ended. */
struct body {
	size_t n;
	int cut;    /* more was sent than kept */
	size_t end; /* 0 when only the end of the stream or the cap ends it */
};

/* A body framed by Content-Length: 1 with b filled, 0 for more, -1. */
static int
body_by_length(size_t len, size_t off, enum http_feed f, const struct head *h,
    size_t max_body, struct body *b, char *err, size_t errlen)
{
	size_t avail = len - off;

	if (h->cl <= avail) {
		b->n = (size_t)h->cl;
		b->end = off + b->n;
	} else if (f == HTTP_FEED_MORE) {
		return 0;
	} else if (f == HTTP_FEED_EOF) {
		http_seterr(err, errlen,
		    "connection closed after %zu of %llu body bytes", avail,
		    (unsigned long long)h->cl);
		return -1;
	} else {
		b->n = avail;
		b->cut = 1;
	}
	if (b->n > max_body) {
		b->n = max_body;
		b->cut = 1;
	}
	return 1;
}

/* Measures the body at off by the head's framing: 1, 0 for more, -1. */
static int
body_size(const char *buf, size_t len, size_t off, enum http_feed f,
    const struct head *h, size_t max_body, struct body *b, char *err,
    size_t errlen)
{
	memset(b, 0, sizeof(*b));
	if (h->status == 204 || h->status == 304) {
		b->end = off;
		return 1;
	}
	if (h->te && h->chunked)
		return dechunk(buf, len, off, f, max_body, NULL, &b->n, &b->cut,
		    &b->end, err, errlen);
	if (h->has_cl && !h->te)
		return body_by_length(len, off, f, h, max_body, b, err, errlen);
	/* Delimited by the end of the connection. */
	if (f == HTTP_FEED_MORE)
		return 0;
	b->n = len - off;
	if (b->n > max_body) {
		b->n = max_body;
		b->cut = 1;
	}
	if (f == HTTP_FEED_CAPPED)
		b->cut = 1;
	return 1;
}

int
http_resp_parse(const char *buf, size_t len, enum http_feed f, size_t max_body,
    struct http_response *r, char *err, size_t errlen)
{
	struct head h;
	struct body b;
	size_t off = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = final_head(buf, len, f, &h, &off, err, errlen)) != 1)
		return rc;
	if ((rc = body_size(buf, len, off, f, &h, max_body, &b, err, errlen)) !=
	    1)
		return rc;
	/* b.n <= len - off, so b.n + 1 cannot overflow. */
	if ((r->body = malloc(b.n + 1)) == NULL) {
		http_seterr(
		    err, errlen, "out of memory for a %zu-byte body", b.n);
		return -1;
	}
	if (h.te && h.chunked && h.status != 204 && h.status != 304)
		(void)dechunk(buf, len, off, f, max_body, r->body, &b.n, &b.cut,
		    &b.end, err, errlen);
	else
		memcpy(r->body, buf + off, b.n);
	r->body[b.n] = '\0';
	r->body_len = b.n;
	r->body_truncated = b.cut;
	r->status = h.status;
	r->retry_after = h.retry_after;
	memcpy(r->reason, h.reason, sizeof(r->reason));
	memcpy(r->content_type, h.ctype, sizeof(r->content_type));
	r->keep_alive = h.minor == 1 && !h.conn_close && b.end > 0;
	r->used = b.end > 0 ? b.end : len;
	return 1;
}

int
http_parse_response(const char *buf, size_t len, int eof, size_t max_body,
    struct http_response *r, char *err, size_t errlen)
{
	return http_resp_parse(buf, len, eof ? HTTP_FEED_EOF : HTTP_FEED_MORE,
	    max_body, r, err, errlen);
}

void
http_response_free(struct http_response *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}
