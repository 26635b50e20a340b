/*
 * The webhook client (http.h): URL checks, a strict response parser that
 * works on any prefix of the bytes received (and is what the fuzzer
 * drives), and POSTs over a non-blocking socket, so that every connect,
 * handshake, write and read waits in poll() and never outlives the
 * deadline.  A connection is kept for the next POST only when the parser
 * says the response ended by its own framing and nothing followed it.
 * Invariants: the parser reads nothing past len and allocates at most
 * max_body + 1 bytes, and only for a complete response; the receive buffer
 * never grows past HTTP_HEAD_MAX + max_response_bytes + slack.
 */
/* getaddrinfo_a(): glibc's only resolver call that can be given a timeout. */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "http.h"
#include "util.h"

#define CHUNK_LINE_MAX 4096 /* a chunk-size line with its extensions */
#define RECV_FIRST 4096     /* first size of the receive buffer */
/*
 * Room for chunk framing on top of the body cap.  A body sent in tiny
 * chunks may still not fit; it is then reported as truncated.
 */
#define RECV_SLACK 16384

/* How the caller knows whether more bytes can come. */
enum feed {
	FEED_MORE,  /* the connection is open */
	FEED_EOF,   /* the peer closed it */
	FEED_CAPPED /* the receive buffer is full: the rest is cut off */
};

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

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- URLs ---- */

static int
host_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

int
http_url_parse(const char *url, struct http_url *u, char *err, size_t errlen)
{
	const char *p, *q, *auth_end, *host, *host_end;
	size_t n;
	int bracket = 0;

	memset(u, 0, sizeof(*u));
	if (url == NULL)
		url = "";
	if (strncasecmp(url, "http://", 7) == 0) {
		u->port = 80;
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		u->tls = 1;
		u->port = 443;
		p = url + 8;
	} else {
		seterr(err, errlen,
		    "callback URL must start with http:// or https://");
		return -1;
	}
	/* Anything here would be sent raw in the request line. */
	for (q = url; *q != '\0'; q++) {
		unsigned char c = (unsigned char)*q;

		if (c <= 0x20 || c == 0x7f) {
			seterr(err, errlen,
			    "callback URL must not contain spaces or "
			    "control characters");
			return -1;
		}
		if (c >= 0x80) {
			seterr(err, errlen,
			    "callback URL must be ASCII (percent-encode the "
			    "path, use the punycode host name)");
			return -1;
		}
		if (c == '#') {
			seterr(err, errlen,
			    "callback URL must not contain a fragment (#...)");
			return -1;
		}
	}

	auth_end = p + strcspn(p, "/?");
	if (memchr(p, '@', (size_t)(auth_end - p)) != NULL) {
		seterr(err, errlen,
		    "callback URL must not contain user:password@ (send "
		    "credentials in a header)");
		return -1;
	}
	if (*p == '[') {
		bracket = 1;
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(auth_end - host));
		if (host_end == NULL) {
			seterr(err, errlen,
			    "callback URL has an unterminated [IPv6] host");
			return -1;
		}
		p = host_end + 1;
	} else {
		host = p;
		host_end = memchr(p, ':', (size_t)(auth_end - p));
		if (host_end == NULL)
			host_end = auth_end;
		p = host_end;
		for (q = host; q < host_end; q++) {
			if (!host_char(*q)) {
				seterr(err, errlen,
				    "callback URL host must not contain '%c'",
				    *q);
				return -1;
			}
		}
	}
	n = (size_t)(host_end - host);
	if (n == 0) {
		seterr(err, errlen, "callback URL has no host");
		return -1;
	}
	if (n >= sizeof(u->host)) {
		seterr(err, errlen,
		    "callback URL host is longer than %zu characters",
		    sizeof(u->host) - 1);
		return -1;
	}
	memcpy(u->host, host, n);
	u->host[n] = '\0';
	if (bracket) {
		struct in6_addr a6;

		if (inet_pton(AF_INET6, u->host, &a6) != 1) {
			seterr(err, errlen,
			    "callback URL has a bad IPv6 address '%s'",
			    u->host);
			return -1;
		}
	}

	if (p < auth_end) {
		char port[6];
		unsigned long long v;

		n = (size_t)(auth_end - p - 1);
		if (*p != ':') {
			seterr(err, errlen,
			    "callback URL has '%c' after the host", *p);
			return -1;
		}
		if (n == 0 || n >= sizeof(port)) {
			seterr(err, errlen,
			    "callback URL has a bad port (1-65535)");
			return -1;
		}
		memcpy(port, p + 1, n);
		port[n] = '\0';
		if (xr_parse_uint(port, 1, 65535, &v) < 0) {
			seterr(err, errlen,
			    "callback URL has a bad port (1-65535)");
			return -1;
		}
		u->port = (unsigned)v;
	}

	/* "http://h?q" asks for "/?q" (RFC 3986 §6.2.3). */
	p = auth_end;
	n = strlen(p) + (*p == '/' ? 0 : 1);
	if (n >= sizeof(u->path)) {
		seterr(err, errlen,
		    "callback URL path is longer than %zu characters",
		    sizeof(u->path) - 1);
		return -1;
	}
	u->path[0] = '/';
	memcpy(u->path + (*p == '/' ? 0 : 1), p, strlen(p) + 1);
	return 0;
}

/* ---- the response parser ---- */

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
		seterr(err, errlen, "bad status line");
		return -1;
	}
	h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	h->minor = s[7] - '0';
	for (size_t i = 12; i < n; i++) {
		if (ctl((unsigned char)s[i])) {
			seterr(err, errlen,
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
		seterr(err, errlen, "empty Content-Length");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (v[i] < '0' || v[i] > '9') {
			seterr(err, errlen, "bad Content-Length");
			return -1;
		}
		d = (unsigned)(v[i] - '0');
		if (cl > (UINT64_MAX - d) / 10) {
			seterr(err, errlen, "Content-Length too large");
			return -1;
		}
		cl = cl * 10 + d;
	}
	if (h->has_cl && h->cl != cl) {
		seterr(err, errlen, "conflicting Content-Length headers");
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
			seterr(err, errlen, "bad Transfer-Encoding");
			return -1;
		}
		h->chunked = name_is(v + b, e - b, "chunked");
		elems++;
	}
	if (elems == 0) {
		seterr(err, errlen, "empty Transfer-Encoding");
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
		seterr(
		    err, errlen, "obsolete line folding in the response head");
		return -1;
	}
	while (nl < n && tchar((unsigned char)s[nl]))
		nl++;
	if (nl == 0 || nl == n || s[nl] != ':') {
		seterr(err, errlen, "malformed header line");
		return -1;
	}
	for (size_t i = nl + 1; i < n; i++) {
		if (ctl((unsigned char)s[i])) {
			seterr(err, errlen, "control character in header %.*s",
			    (int)nl, s);
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
head_short(
    size_t len, size_t off, int lines, enum feed f, char *err, size_t errlen)
{
	if (len >= HTTP_HEAD_MAX) {
		seterr(err, errlen,
		    "response head is larger than %zu bytes (HTTP_HEAD_MAX)",
		    (size_t)HTTP_HEAD_MAX);
		return -1;
	}
	switch (f) {
	case FEED_MORE:
		return 0;
	case FEED_EOF:
		if (len == 0)
			seterr(err, errlen,
			    "connection closed without a response");
		else if (off == len && lines == 0)
			seterr(err, errlen,
			    "connection closed after an interim 1xx response");
		else
			seterr(err, errlen,
			    "connection closed inside the response head");
		return -1;
	case FEED_CAPPED:
		break;
	}
	seterr(err, errlen, "response head incomplete at the receive cap");
	return -1;
}

/*
 * Parses the head that starts at off.  Heads are counted from the start
 * of the buffer, so interim 1xx heads share the HTTP_HEAD_MAX budget with
 * the final one and an endless stream of them is refused.
 */
static int
parse_head(const char *buf, size_t len, size_t off, enum feed f, struct head *h,
    size_t *end, char *err, size_t errlen)
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
		seterr(err, errlen, "not an HTTP/1.x response");
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
			seterr(err, errlen,
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
			seterr(err, errlen, "chunk size too large");
			return -1;
		}
		v = (v << 4) | (uint64_t)d;
		i++;
	}
	if (i == 0) {
		seterr(err, errlen, "bad chunk size line");
		return -1;
	}
	while (i < n && ows(s[i]))
		i++;
	if (i < n && s[i] != ';') {
		seterr(err, errlen, "bad chunk size line");
		return -1;
	}
	for (; i < n; i++) {
		if (ctl((unsigned char)s[i])) {
			seterr(err, errlen,
			    "control character in a chunk "
			    "extension");
			return -1;
		}
	}
	*size = v;
	return 0;
}

/*
 * Decodes the chunked body at off into out (or only measures it when out
 * is NULL, so that the caller can allocate the exact size): 1 with *got
 * bytes kept, 0 for more, -1.  Trailers are skipped.  *end is where the
 * message ended, or 0 when the receive cap cut it.
 */
static int
dechunk(const char *buf, size_t len, size_t off, enum feed f, size_t max_body,
    char *out, size_t *got, int *cut, size_t *end, char *err, size_t errlen)
{
	size_t start;

	*got = 0;
	*cut = 0;
	*end = 0;
	for (;;) {
		const char *nlp = NULL;
		size_t lim, nl, ll, avail, n;
		uint64_t size;

		lim = len - off < CHUNK_LINE_MAX ? len : off + CHUNK_LINE_MAX;
		if (off < lim)
			nlp = memchr(buf + off, '\n', lim - off);
		if (nlp == NULL) {
			if (len - off >= CHUNK_LINE_MAX) {
				seterr(err, errlen,
				    "chunk size line longer than %d bytes",
				    CHUNK_LINE_MAX);
				return -1;
			}
			goto short_read;
		}
		nl = (size_t)(nlp - buf);
		ll = nl - off;
		if (ll > 0 && buf[nl - 1] == '\r')
			ll--;
		if (chunk_size(buf + off, ll, &size, err, errlen) < 0)
			return -1;
		off = nl + 1;
		if (size == 0)
			break;
		avail = len - off;
		n = size < avail ? (size_t)size : avail;
		keep(out, got, max_body, buf + off, n, cut);
		if (n < size)
			goto short_read;
		off += n;
		if (off == len)
			goto short_read;
		if (buf[off] == '\r') {
			if (off + 1 == len)
				goto short_read;
			off++;
		}
		if (buf[off] != '\n') {
			seterr(err, errlen, "chunk data not followed by CRLF");
			return -1;
		}
		off++;
	}
	/* Trailer lines, then an empty line; held to HTTP_HEAD_MAX. */
	start = off;
	for (;;) {
		const char *nlp = NULL;
		size_t lim, nl;

		lim = len - start < HTTP_HEAD_MAX ? len : start + HTTP_HEAD_MAX;
		if (off < lim)
			nlp = memchr(buf + off, '\n', lim - off);
		if (nlp == NULL) {
			if (len - start >= HTTP_HEAD_MAX) {
				seterr(err, errlen,
				    "chunked trailers larger than %zu bytes "
				    "(HTTP_HEAD_MAX)",
				    (size_t)HTTP_HEAD_MAX);
				return -1;
			}
			goto short_read;
		}
		nl = (size_t)(nlp - buf);
		if (nl == off || (nl == off + 1 && buf[off] == '\r')) {
			*end = nl + 1;
			return 1;
		}
		off = nl + 1;
	}

short_read:
	switch (f) {
	case FEED_MORE:
		return 0;
	case FEED_EOF:
		seterr(
		    err, errlen, "connection closed inside the chunked body");
		return -1;
	case FEED_CAPPED:
		break;
	}
	*cut = 1;
	return 1;
}

static int
parse_response(const char *buf, size_t len, enum feed f, size_t max_body,
    struct http_response *r, char *err, size_t errlen)
{
	struct head h;
	size_t off = 0, avail, n = 0, end = 0;
	int rc, cut = 0;

	memset(r, 0, sizeof(*r));
	for (;;) {
		rc = parse_head(buf, len, off, f, &h, &off, err, errlen);
		if (rc != 1)
			return rc;
		if (h.status >= 200)
			break;
		/* We never ask for an upgrade: what follows is not HTTP. */
		if (h.status == 101) {
			seterr(
			    err, errlen, "unexpected 101 Switching Protocols");
			return -1;
		}
	}

	avail = len - off;
	/* end stays 0 when only the end of the stream or the cap ends it. */
	if (h.status == 204 || h.status == 304) {
		n = 0;
		end = off;
	} else if (h.te && h.chunked) {
		rc = dechunk(buf, len, off, f, max_body, NULL, &n, &cut, &end,
		    err, errlen);
		if (rc != 1)
			return rc;
	} else if (h.has_cl && !h.te) {
		if (h.cl <= avail) {
			n = (size_t)h.cl;
			end = off + n;
		} else if (f == FEED_MORE) {
			return 0;
		} else if (f == FEED_EOF) {
			seterr(err, errlen,
			    "connection closed after %zu of %llu body bytes",
			    avail, (unsigned long long)h.cl);
			return -1;
		} else {
			n = avail;
			cut = 1;
		}
		if (n > max_body) {
			n = max_body;
			cut = 1;
		}
	} else {
		/* Delimited by the end of the connection. */
		if (f == FEED_MORE)
			return 0;
		n = avail;
		if (n > max_body) {
			n = max_body;
			cut = 1;
		}
		if (f == FEED_CAPPED)
			cut = 1;
	}

	/* n <= avail, so n + 1 cannot overflow. */
	if ((r->body = malloc(n + 1)) == NULL) {
		seterr(err, errlen, "out of memory for a %zu-byte body", n);
		return -1;
	}
	if (h.te && h.chunked && h.status != 204 && h.status != 304)
		(void)dechunk(buf, len, off, f, max_body, r->body, &n, &cut,
		    &end, err, errlen);
	else
		memcpy(r->body, buf + off, n);
	r->body[n] = '\0';
	r->body_len = n;
	r->body_truncated = cut;
	r->status = h.status;
	r->retry_after = h.retry_after;
	memcpy(r->reason, h.reason, sizeof(r->reason));
	memcpy(r->content_type, h.ctype, sizeof(r->content_type));
	r->keep_alive = h.minor == 1 && !h.conn_close && end > 0;
	r->used = end > 0 ? end : len;
	return 1;
}

int
http_parse_response(const char *buf, size_t len, int eof, size_t max_body,
    struct http_response *r, char *err, size_t errlen)
{
	return parse_response(
	    buf, len, eof ? FEED_EOF : FEED_MORE, max_body, r, err, errlen);
}

void
http_response_free(struct http_response *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* ---- the client ---- */

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static int
ms_left(int64_t deadline)
{
	int64_t left = deadline - xr_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits for events on fd: 1 ready, 0 deadline passed, -1 with errno. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		int left = ms_left(deadline), n;

		if (left == 0)
			return 0;
		n = poll(&pfd, 1, left);
		/* POLLERR/POLLHUP count as ready: the next call says why. */
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int
ip_literal(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* The resolver's request; on the heap, since a thread may outlive us. */
struct lookup {
	struct gaicb cb;
	struct addrinfo hints;
	char host[sizeof(((struct http_url *)0)->host)];
	char port[8];
};

static enum http_rc
resolve(const struct http_url *u, int64_t deadline, struct addrinfo **res,
    char *err, size_t errlen)
{
	struct lookup *lk;
	struct gaicb *list[1];
	const struct gaicb *wait_list[1];
	int rc;

	if ((lk = calloc(1, sizeof(*lk))) == NULL) {
		seterr(err, errlen, "resolve %s: out of memory", u->host);
		return HTTP_UNREACHABLE;
	}
	lk->hints.ai_family = AF_UNSPEC;
	lk->hints.ai_socktype = SOCK_STREAM;
	lk->hints.ai_flags = AI_NUMERICSERV;
	xr_strlcpy(lk->host, u->host, sizeof(lk->host));
	snprintf(lk->port, sizeof(lk->port), "%u", u->port);

	/* An IP literal needs no lookup: no thread, no waiting. */
	if (ip_literal(lk->host)) {
		lk->hints.ai_flags |= AI_NUMERICHOST;
		rc = getaddrinfo(lk->host, lk->port, &lk->hints, res);
		free(lk);
		if (rc != 0) {
			seterr(err, errlen, "resolve %s: %s", u->host,
			    gai_strerror(rc));
			return HTTP_UNREACHABLE;
		}
		return HTTP_OK;
	}

	lk->cb.ar_name = lk->host;
	lk->cb.ar_service = lk->port;
	lk->cb.ar_request = &lk->hints;
	list[0] = &lk->cb;
	wait_list[0] = &lk->cb;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		free(lk);
		seterr(
		    err, errlen, "resolve %s: %s", u->host, gai_strerror(rc));
		return HTTP_UNREACHABLE;
	}
	while ((rc = gai_error(&lk->cb)) == EAI_INPROGRESS) {
		int left = ms_left(deadline);
		struct timespec ts = {.tv_sec = left / 1000,
		    .tv_nsec = (long)(left % 1000) * 1000000L};

		if (left == 0)
			break;
		(void)gai_suspend(wait_list, 1, &ts);
	}
	if (rc == EAI_INPROGRESS) {
		seterr(err, errlen, "resolve %s timed out", u->host);
		switch (gai_cancel(&lk->cb)) {
		case EAI_CANCELED:
			free(lk);
			break;
		case EAI_ALLDONE:
			if (lk->cb.ar_result != NULL)
				freeaddrinfo(lk->cb.ar_result);
			free(lk);
			break;
		default:
			/*
			 * EAI_NOTCANCELED: a resolver thread still writes
			 * into lk, so it must stay allocated.  A known limit:
			 * a delivery worker keeps these few hundred bytes
			 * (once per such lookup) until it exits, at the
			 * latest when it has been idle a while.
			 */
			break;
		}
		return HTTP_TIMEOUT;
	}
	if (rc != 0) {
		seterr(
		    err, errlen, "resolve %s: %s", u->host, gai_strerror(rc));
		free(lk);
		return HTTP_UNREACHABLE;
	}
	*res = lk->cb.ar_result;
	free(lk);
	return HTTP_OK;
}

static void
addr_text(const struct addrinfo *ai, char *buf, size_t size)
{
	char h[NI_MAXHOST], s[NI_MAXSERV];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof(h), s, sizeof(s),
		NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		xr_strlcpy(buf, "?", size);
	else if (ai->ai_family == AF_INET6)
		snprintf(buf, size, "[%s]:%s", h, s);
	else
		snprintf(buf, size, "%s:%s", h, s);
}

static enum http_rc
connect_one(const struct addrinfo *ai, int64_t deadline, int *fdp, char *err,
    size_t errlen)
{
	char addr[NI_MAXHOST + NI_MAXSERV + 4];
	int fd, soerr = 0, w;
	socklen_t sl = sizeof(soerr);

	addr_text(ai, addr, sizeof(addr));
	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		seterr(err, errlen, "socket for %s: %s", addr, strerror(errno));
		return HTTP_UNREACHABLE;
	}
	/* EINTR leaves the connection going on, as EINPROGRESS does. */
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS && errno != EINTR) {
		seterr(err, errlen, "connect %s: %s", addr, strerror(errno));
		goto fail;
	}
	if ((w = wait_fd(fd, POLLOUT, deadline)) == 0) {
		seterr(err, errlen, "connect %s timed out", addr);
		close(fd);
		return HTTP_TIMEOUT;
	}
	if (w < 0) {
		seterr(
		    err, errlen, "connect %s: poll: %s", addr, strerror(errno));
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr != 0) {
		seterr(err, errlen, "connect %s: %s", addr, strerror(soerr));
		goto fail;
	}
	*fdp = fd;
	return HTTP_OK;
fail:
	close(fd);
	return HTTP_UNREACHABLE;
}

/*
 * Tries each address in turn.  All but the last get an equal share of
 * the time left, so that one address that drops packets (an IPv6 route
 * that goes nowhere) does not use up the whole deadline.
 */
static enum http_rc
connect_any(const struct addrinfo *res, int64_t deadline, int *fdp, char *err,
    size_t errlen)
{
	const struct addrinfo *ai;
	enum http_rc rc = HTTP_UNREACHABLE;
	int n = 0;

	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	if (n == 0)
		seterr(err, errlen, "resolve: no address");
	for (ai = res; ai != NULL; ai = ai->ai_next, n--) {
		int64_t now = xr_now_ms(), until = deadline;

		if (now >= deadline) {
			if (rc != HTTP_TIMEOUT)
				seterr(err, errlen, "connect timed out");
			return HTTP_TIMEOUT;
		}
		if (ai->ai_next != NULL)
			until = now + (deadline - now) / n;
		rc = connect_one(ai, until, fdp, err, errlen);
		if (rc == HTTP_OK)
			return rc;
	}
	return rc;
}

/*
 * Writes "TLS: what: reason" and empties OpenSSL's error queue.  A system
 * error (a CA file that is not there) says more than the library errors
 * stacked on it ("system lib"), so it wins; otherwise the last one does.
 */
static void
tls_err(const char *what, const char *fallback, char *err, size_t errlen)
{
	const char *reason = NULL;
	unsigned long e, last = 0;
	int sys = 0;

	while ((e = ERR_get_error()) != 0) {
		if (!ERR_SYSTEM_ERROR(e))
			last = e;
		else if (sys == 0)
			sys = ERR_GET_REASON(e);
	}
	if (sys != 0)
		reason = strerror(sys);
	else if (last != 0)
		reason = ERR_reason_error_string(last);
	seterr(err, errlen, "TLS: %s: %s", what,
	    reason != NULL ? reason : fallback);
}

/*
 * Turns an SSL_ERROR_WANT_* into a wait: 1 to call again, 2 when rc was
 * a real failure (see tls_fail), else HTTP_TIMEOUT or HTTP_UNREACHABLE.
 */
static int
tls_wait(const struct conn *c, int rc, const char *what, int64_t deadline,
    char *err, size_t errlen)
{
	int e = SSL_get_error(c->ssl, rc), w;

	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		return 2;
	w = wait_fd(
	    c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
	if (w == 0) {
		seterr(err, errlen, "%s timed out", what);
		return HTTP_TIMEOUT;
	}
	if (w < 0) {
		seterr(err, errlen, "%s: poll: %s", what, strerror(errno));
		return HTTP_UNREACHABLE;
	}
	return 1;
}

/* The error of a failed SSL_* call that was not a WANT_*. */
static void
tls_fail(
    const struct conn *c, int rc, const char *what, char *err, size_t errlen)
{
	int e = SSL_get_error(c->ssl, rc);

	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		seterr(err, errlen, "TLS: %s: %s", what,
		    errno != 0 ? strerror(errno) : "connection closed");
		return;
	}
	tls_err(what, "failed", err, errlen);
}

static enum http_rc
tls_start(struct conn *c, const struct http_request *req, int64_t deadline,
    char *err, size_t errlen)
{
	const char *host = req->url->host;
	/* The SNI macro casts its argument to void *: give it no const. */
	char sni[sizeof(req->url->host)];
	long v;
	int rc;

	ERR_clear_error();
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_err("SSL_CTX_new", "failed", err, errlen);
		return HTTP_UNREACHABLE;
	}
	if (SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1) {
		tls_err("minimum version", "failed", err, errlen);
		return HTTP_UNREACHABLE;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	/*
	 * Many servers close without close_notify.  Treating that as the end
	 * is safe for bodies framed by Content-Length or chunks (the parser
	 * sees a short body); only a body read to the end could be cut, as
	 * with any HTTP/1.0 server over TLS.
	 */
	SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (req->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(c->ctx, req->ca_file, NULL) !=
		    1) {
			char what[300];

			snprintf(
			    what, sizeof(what), "CA file %s", req->ca_file);
			tls_err(what, "cannot load", err, errlen);
			return HTTP_UNREACHABLE;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		tls_err("system CA store", "cannot load", err, errlen);
		return HTTP_UNREACHABLE;
	}
	if ((c->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_err("SSL_new", "failed", err, errlen);
		return HTTP_UNREACHABLE;
	}
	xr_strlcpy(sni, host, sizeof(sni));
	/* SNI is for names only (RFC 6066 §3); literals are checked as IPs. */
	if (ip_literal(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(
			SSL_get0_param(c->ssl), host) != 1) {
			tls_err("IP check", "failed", err, errlen);
			return HTTP_UNREACHABLE;
		}
	} else if (SSL_set_tlsext_host_name(c->ssl, sni) != 1 ||
	    SSL_set1_host(c->ssl, host) != 1) {
		tls_err("host name", "failed", err, errlen);
		return HTTP_UNREACHABLE;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int w;

		if ((rc = SSL_connect(c->ssl)) == 1)
			return HTTP_OK;
		w = tls_wait(c, rc, "TLS handshake", deadline, err, errlen);
		if (w == 1)
			continue;
		if (w != 2)
			return (enum http_rc)w;
		break;
	}
	if ((v = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
		seterr(err, errlen, "TLS: certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
		ERR_clear_error();
	} else {
		tls_fail(c, rc, "handshake", err, errlen);
	}
	return HTTP_UNREACHABLE;
}

static enum http_rc
conn_write(const struct conn *c, const char *p, size_t n, int64_t deadline,
    char *err, size_t errlen)
{
	/*
	 * send() gets MSG_NOSIGNAL; SSL_write() goes through write(), so for
	 * https the caller must ignore SIGPIPE (the bridge does, and its
	 * webhook children inherit that).
	 */
	while (n > 0) {
		size_t chunk = n > INT_MAX ? INT_MAX : n;

		if (c->ssl != NULL) {
			int rc, w;

			ERR_clear_error();
			errno = 0;
			rc = SSL_write(c->ssl, p, (int)chunk);
			if (rc > 0) {
				p += rc;
				n -= (size_t)rc;
				continue;
			}
			w = tls_wait(c, rc, "sending the request", deadline,
			    err, errlen);
			if (w == 1)
				continue;
			if (w == 2)
				tls_fail(c, rc, "write", err, errlen);
			return w == HTTP_TIMEOUT ? HTTP_TIMEOUT
						 : HTTP_UNREACHABLE;
		} else {
			ssize_t w = send(c->fd, p, chunk, MSG_NOSIGNAL);
			int r;

			if (w >= 0) {
				p += w;
				n -= (size_t)w;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				seterr(
				    err, errlen, "send: %s", strerror(errno));
				return HTTP_UNREACHABLE;
			}
			if ((r = wait_fd(c->fd, POLLOUT, deadline)) == 0) {
				seterr(err, errlen,
				    "sending the request timed out");
				return HTTP_TIMEOUT;
			}
			if (r < 0) {
				seterr(
				    err, errlen, "poll: %s", strerror(errno));
				return HTTP_UNREACHABLE;
			}
		}
	}
	return HTTP_OK;
}

/* Reads what is there into p: *got bytes, 0 at the end of the stream. */
static enum http_rc
conn_read(const struct conn *c, char *p, size_t n, size_t *got,
    int64_t deadline, char *err, size_t errlen)
{
	size_t chunk = n > INT_MAX ? INT_MAX : n;

	for (;;) {
		int w;

		if (c->ssl != NULL) {
			int rc;

			ERR_clear_error();
			errno = 0;
			rc = SSL_read(c->ssl, p, (int)chunk);
			if (rc > 0) {
				*got = (size_t)rc;
				return HTTP_OK;
			}
			if (SSL_get_error(c->ssl, rc) ==
			    SSL_ERROR_ZERO_RETURN) {
				*got = 0;
				return HTTP_OK;
			}
			w = tls_wait(c, rc, "reading", deadline, err, errlen);
			if (w == 1)
				continue;
			if (w == 2) {
				tls_fail(c, rc, "read", err, errlen);
				return HTTP_UNREACHABLE;
			}
			return (enum http_rc)w;
		} else {
			ssize_t r = recv(c->fd, p, chunk, 0);

			if (r >= 0) {
				*got = (size_t)r;
				return HTTP_OK;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				seterr(
				    err, errlen, "recv: %s", strerror(errno));
				return HTTP_UNREACHABLE;
			}
			if ((w = wait_fd(c->fd, POLLIN, deadline)) == 0)
				return HTTP_TIMEOUT;
			if (w < 0) {
				seterr(
				    err, errlen, "poll: %s", strerror(errno));
				return HTTP_UNREACHABLE;
			}
		}
	}
}

static void
conn_close(struct conn *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->ctx = NULL;
	c->fd = -1;
}

/* persist: no "Connection: close", so that the server may keep it open. */
static int
format_head(char *dst, size_t size, const struct http_request *req, int persist)
{
	const struct http_url *u = req->url;
	const char *ct = req->content_type;
	const char *xh = req->headers != NULL ? req->headers : "";
	size_t xl = strlen(xh);
	int v6 = strchr(u->host, ':') != NULL;
	char port[8] = "";

	if (u->port != (u->tls ? 443U : 80U))
		snprintf(port, sizeof(port), ":%u", u->port);
	return snprintf(dst, size,
	    "POST %s HTTP/1.1\r\n"
	    "Host: %s%s%s%s\r\n"
	    "%s%s%s"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "%s%s"
	    "\r\n",
	    u->path, v6 ? "[" : "", u->host, v6 ? "]" : "", port,
	    ct != NULL ? "Content-Type: " : "", ct != NULL ? ct : "",
	    ct != NULL ? "\r\n" : "", req->body_len,
	    persist ? "" : "Connection: close\r\n", xh,
	    xl > 0 && xh[xl - 1] != '\n' ? "\r\n" : "");
}

/* The request head and body in one buffer: one write, no Nagle stall. */
static char *
build_request(const struct http_request *req, int persist, size_t *lenp,
    char *err, size_t errlen)
{
	char probe[1], *out;
	int hl;

	if (req->content_type != NULL &&
	    strpbrk(req->content_type, "\r\n") != NULL) {
		seterr(err, errlen, "content type contains a line break");
		return NULL;
	}
	hl = format_head(probe, sizeof(probe), req, persist);
	if (hl < 0 || req->body_len > SIZE_MAX - (size_t)hl - 1 ||
	    (out = malloc((size_t)hl + req->body_len + 1)) == NULL) {
		seterr(err, errlen, "out of memory for the request");
		return NULL;
	}
	(void)format_head(out, (size_t)hl + 1, req, persist);
	if (req->body_len > 0)
		memcpy(out + hl, req->body, req->body_len);
	*lenp = (size_t)hl + req->body_len;
	return out;
}

static size_t
sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/*
 * Sends out and reads one response on c.  *started says whether any byte
 * of the response arrived; *reusable whether c may carry another request
 * (the response allows it and nothing followed it).
 */
static enum http_rc
exchange(const struct conn *c, const char *out, size_t outlen,
    const struct http_request *req, int64_t start, struct http_response *r,
    int *started, int *reusable, char *err, size_t errlen)
{
	char *in = NULL;
	size_t inlen = 0, incap = 0, cap, max = req->max_response_bytes;
	int64_t deadline = req->deadline_ms;
	enum http_rc rc;
	int p = -1;

	*started = 0;
	*reusable = 0;
	if ((rc = conn_write(c, out, outlen, deadline, err, errlen)) != HTTP_OK)
		return rc;
	cap =
	    sat_add(sat_add(HTTP_HEAD_MAX, max), sat_add(RECV_SLACK, max / 4));
	for (;;) {
		size_t got;

		if (inlen == incap) {
			size_t ncap =
			    incap == 0 ? RECV_FIRST : sat_add(incap, incap);
			char *n;

			if (incap > 0 && incap == cap) {
				/* Full: what came is all we take. */
				p = parse_response(in, inlen, FEED_CAPPED, max,
				    r, err, errlen);
				/* The rest is still on the wire. */
				r->keep_alive = 0;
				break;
			}
			if (ncap > cap)
				ncap = cap;
			if ((n = realloc(in, ncap)) == NULL) {
				seterr(err, errlen,
				    "out of memory for the response");
				rc = HTTP_UNREACHABLE;
				goto done;
			}
			in = n;
			incap = ncap;
		}
		rc = conn_read(
		    c, in + inlen, incap - inlen, &got, deadline, err, errlen);
		if (rc == HTTP_TIMEOUT) {
			if (inlen == 0)
				seterr(err, errlen,
				    "no response within %lld ms",
				    (long long)(deadline - start));
			else
				seterr(err, errlen,
				    "response incomplete after %lld ms (%zu "
				    "bytes received)",
				    (long long)(deadline - start), inlen);
		}
		if (rc != HTTP_OK)
			goto done;
		if (got == 0 && inlen == 0) {
			seterr(err, errlen,
			    "connection closed without a response");
			rc = HTTP_UNREACHABLE;
			goto done;
		}
		inlen += got;
		*started = 1;
		p = parse_response(in, inlen, got == 0 ? FEED_EOF : FEED_MORE,
		    max, r, err, errlen);
		if (p != 0)
			break;
	}
	rc = p == 1 ? HTTP_OK : HTTP_BAD_RESPONSE;
	/* Bytes past the response: the stream is out of step; drop it. */
	*reusable = p == 1 && r->keep_alive && r->used == inlen;
done:
	free(in);
	return rc;
}

/* Resolves, connects and (for https) handshakes c for req. */
static enum http_rc
conn_open(
    struct conn *c, const struct http_request *req, char *err, size_t errlen)
{
	struct addrinfo *res = NULL;
	enum http_rc rc;

	if ((rc = resolve(req->url, req->deadline_ms, &res, err, errlen)) !=
	    HTTP_OK)
		return rc;
	rc = connect_any(res, req->deadline_ms, &c->fd, err, errlen);
	freeaddrinfo(res);
	if (rc == HTTP_OK && req->url->tls)
		rc = tls_start(c, req, req->deadline_ms, err, errlen);
	if (rc != HTTP_OK)
		conn_close(c);
	return rc;
}

static enum http_rc
check_request(const struct http_request *req, struct http_response *r,
    int64_t start, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	seterr(err, errlen, "no error");
	if (req == NULL || req->url == NULL || req->url->host[0] == '\0' ||
	    req->url->port == 0 || req->url->path[0] != '/') {
		seterr(err, errlen, "no callback URL");
		return HTTP_UNREACHABLE;
	}
	if (start >= req->deadline_ms) {
		seterr(err, errlen, "the deadline passed before connecting");
		return HTTP_TIMEOUT;
	}
	return HTTP_OK;
}

enum http_rc
http_post(const struct http_request *req, struct http_response *r, char *err,
    size_t errlen)
{
	struct conn c = {.fd = -1};
	char *out = NULL;
	size_t outlen = 0;
	int64_t start = xr_now_ms();
	enum http_rc rc;
	int started, reusable;

	if ((rc = check_request(req, r, start, err, errlen)) != HTTP_OK)
		return rc;
	if ((out = build_request(req, 0, &outlen, err, errlen)) == NULL)
		return HTTP_UNREACHABLE;
	if ((rc = conn_open(&c, req, err, errlen)) == HTTP_OK)
		rc = exchange(&c, out, outlen, req, start, r, &started,
		    &reusable, err, errlen);
	conn_close(&c);
	free(out);
	return rc;
}

/* ---- kept connections ---- */

struct http_client {
	struct conn c; /* fd -1: none kept */
	int tls;
	char host[sizeof(((struct http_url *)0)->host)];
	unsigned port;
	char *ca_file; /* what c's certificate was checked against */
};

struct http_client *
http_client_new(void)
{
	struct http_client *hc = calloc(1, sizeof(*hc));

	if (hc != NULL)
		hc->c.fd = -1;
	return hc;
}

static void
client_drop(struct http_client *hc)
{
	conn_close(&hc->c);
	free(hc->ca_file);
	hc->ca_file = NULL;
}

void
http_client_free(struct http_client *hc)
{
	if (hc == NULL)
		return;
	client_drop(hc);
	free(hc);
}

int
http_client_connected(const struct http_client *hc)
{
	return hc != NULL && hc->c.fd >= 0;
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Whether the kept connection can take req: same peer and trust anchors,
 * and nothing readable on it.  Between our requests the server has
 * nothing to say; readable means it closed (or is closing) the
 * connection, or sent what we never asked for.  Either way a fresh
 * connection costs less than a failed attempt.
 */
static int
client_usable(const struct http_client *hc, const struct http_request *req)
{
	struct pollfd pfd = {.fd = hc->c.fd, .events = POLLIN};

	if (hc->c.fd < 0 || hc->tls != req->url->tls ||
	    hc->port != req->url->port ||
	    strcmp(hc->host, req->url->host) != 0 ||
	    (hc->tls && !same_str(hc->ca_file, req->ca_file)))
		return 0;
	if (hc->c.ssl != NULL && SSL_pending(hc->c.ssl) > 0)
		return 0;
	return poll(&pfd, 1, 0) == 0;
}

/* Remembers where hc's new connection leads; -1 when out of memory. */
static int
client_note_peer(struct http_client *hc, const struct http_request *req)
{
	hc->tls = req->url->tls;
	hc->port = req->url->port;
	xr_strlcpy(hc->host, req->url->host, sizeof(hc->host));
	free(hc->ca_file);
	hc->ca_file = NULL;
	if (req->ca_file != NULL &&
	    (hc->ca_file = strdup(req->ca_file)) == NULL)
		return -1;
	return 0;
}

/*
 * A kept connection can be closed by the server at any moment (its idle
 * timeout), and the close can cross our request on the wire: the write
 * succeeds or fails with EPIPE/ECONNRESET, the read sees a reset or the
 * end of the stream.  When that happens before any byte of the answer
 * came, the request is sent once more on a new connection, as RFC 9112
 * §9.3.1 allows for a client that knows the request can be repeated.
 * A POST is not idempotent in general, but deliveries are at-least-once
 * by design: every attempt carries the same X-XMPP-Rest-Delivery id for
 * the receiver to drop repeats (docs/API.md).  A server that processed
 * the request and then dropped the connection without a byte of answer
 * is the one case that sees the delivery twice; without the retry it
 * would see it twice all the same, from the bridge's own retry later.
 * A timeout is never repeated: the deadline is the delivery's.
 */
enum http_rc
http_client_post(struct http_client *hc, const struct http_request *req,
    struct http_response *r, int *reused, char *err, size_t errlen)
{
	char *out = NULL;
	size_t outlen = 0;
	int64_t start = xr_now_ms();
	enum http_rc rc;
	int started = 0, reusable = 0;

	*reused = 0;
	if ((rc = check_request(req, r, start, err, errlen)) != HTTP_OK)
		return rc;
	if ((out = build_request(req, 1, &outlen, err, errlen)) == NULL)
		return HTTP_UNREACHABLE;
	*reused = client_usable(hc, req);
	if (!*reused)
		client_drop(hc);
	for (;;) {
		if (!*reused) {
			if ((rc = conn_open(&hc->c, req, err, errlen)) !=
			    HTTP_OK)
				break;
			if (client_note_peer(hc, req) < 0) {
				seterr(err, errlen, "out of memory");
				rc = HTTP_UNREACHABLE;
				break;
			}
		}
		rc = exchange(&hc->c, out, outlen, req, start, r, &started,
		    &reusable, err, errlen);
		if (rc != HTTP_UNREACHABLE || !*reused || started)
			break;
		/* The kept connection was gone: once more, on a new one. */
		client_drop(hc);
		*reused = 0;
	}
	if (!reusable)
		client_drop(hc);
	free(out);
	return rc;
}
