/*
 * The webhook client: every URL rule, the response parser on whole
 * responses, on every strict prefix of them (always "need more", never an
 * error) and on each kind of refusal, whether a response lets the
 * connection be kept, then http_post and http_client_post against servers
 * this test forks on 127.0.0.1 (answering, refusing, silent, closing,
 * garbage, keeping the connection or dropping it under a request).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "http.h"
#include "outbuf.h"
#include "util.h"
#include "t.h"

/* ---- URLs ---- */

static void
url_ok(
    const char *url, int tls, const char *host, unsigned port, const char *path)
{
	struct http_url u;
	char err[XR_ERRLEN] = "", what[600];
	int rc = http_url_parse(url, &u, err, sizeof(err));

	snprintf(what, sizeof(what), "URL %s parses", url);
	T_EQ_INT(rc, 0, what);
	if (rc != 0) {
		printf("# err: %s\n", err);
		return;
	}
	snprintf(what, sizeof(what), "URL %s: tls, host, port, path", url);
	T_OK(u.tls == tls && strcmp(u.host, host) == 0 && u.port == port &&
		strcmp(u.path, path) == 0,
	    what);
}

static void
url_bad(const char *url, const char *reason)
{
	struct http_url u;
	char err[XR_ERRLEN] = "", what[600];

	snprintf(what, sizeof(what), "URL %.60s refused: %s", url, reason);
	T_EQ_INT(http_url_parse(url, &u, err, sizeof(err)), -1, what);
	T_HAS(err, reason, what);
}

static void
test_urls(void)
{
	char big[3000];

	url_ok("http://example.com", 0, "example.com", 80, "/");
	url_ok("https://example.com/hook", 1, "example.com", 443, "/hook");
	url_ok("HTTPS://Example.COM:8443/a/b?x=1&y=%20", 1, "Example.COM", 8443,
	    "/a/b?x=1&y=%20");
	url_ok("hTTp://127.0.0.1:1/", 0, "127.0.0.1", 1, "/");
	url_ok("http://h:65535", 0, "h", 65535, "/");
	url_ok("http://[::1]:8080/x", 0, "::1", 8080, "/x");
	url_ok("https://[2001:db8::1]/", 1, "2001:db8::1", 443, "/");
	url_ok("http://h?q=1", 0, "h", 80, "/?q=1");
	url_ok("http://h/p@q", 0, "h", 80, "/p@q");
	url_ok("http://my_host.local./", 0, "my_host.local.", 80, "/");

	url_bad("ftp://example.com/", "must start with http:// or https://");
	url_bad("example.com/", "must start with http:// or https://");
	url_bad("", "must start with http:// or https://");
	url_bad("http:/example.com", "must start with http:// or https://");
	url_bad("http://user:pw@example.com/", "user:password@");
	url_bad("http://user@example.com/", "user:password@");
	url_bad("http://example.com/a#frag", "fragment");
	url_bad("http://exa mple.com/", "spaces or control");
	url_bad("http://example.com/a b", "spaces or control");
	url_bad("http://example.com/\t", "spaces or control");
	url_bad("http://example.com/\x7f", "spaces or control");
	url_bad("http://example.com/caf\xc3\xa9", "ASCII");
	url_bad("http:///path", "no host");
	url_bad("http://", "no host");
	url_bad("http://:80/", "no host");
	url_bad("http://[]/", "no host");
	url_bad("http://[::1/", "unterminated");
	url_bad("http://[nope]/", "bad IPv6");
	url_bad("http://[::1]x/", "after the host");
	url_bad("http://h:0/", "bad port");
	url_bad("http://h:65536/", "bad port");
	url_bad("http://h:/", "bad port");
	url_bad("http://h:123456/", "bad port");
	url_bad("http://h:8a/", "bad port");
	url_bad("http://h:-1/", "bad port");
	url_bad("http://h:1:2/", "bad port");
	url_bad("http://h%41/", "must not contain '%'");
	url_bad("http://a\\b/", "must not contain '\\'");

	/* The limits: host 255, path 2047. */
	memcpy(big, "http://", 7);
	memset(big + 7, 'a', 255);
	memcpy(big + 7 + 255, "/", 2);
	{
		char host[256];

		memset(host, 'a', 255);
		host[255] = '\0';
		url_ok(big, 0, host, 80, "/");
	}
	big[7 + 255] = 'a';
	memcpy(big + 7 + 256, "/", 2);
	url_bad(big, "longer than 255");
	memcpy(big, "http://h", 8);
	big[8] = '/';
	memset(big + 9, 'p', 2046);
	big[9 + 2046] = '\0';
	{
		struct http_url u;
		char err[XR_ERRLEN];

		T_EQ_INT(http_url_parse(big, &u, err, sizeof(err)), 0,
		    "a 2047-byte path fits");
		T_EQ_INT(strlen(u.path), 2047, "... all of it");
	}
	big[9 + 2046] = 'p';
	big[9 + 2047] = '\0';
	url_bad(big, "longer than 2047");
}

/* ---- the parser ---- */

static int
parse(const char *s, int eof, size_t max, struct http_response *r, char *err)
{
	return http_parse_response(s, strlen(s), eof, max, r, err, XR_ERRLEN);
}

/* Every strict prefix must ask for more bytes (eof 0). */
static void
prefixes_need_more(const char *s, size_t len, const char *what)
{
	struct http_response r;
	char err[XR_ERRLEN], msg[200];
	size_t first = len;

	for (size_t i = 0; i < len; i++) {
		int rc =
		    http_parse_response(s, i, 0, 1 << 20, &r, err, sizeof(err));

		http_response_free(&r);
		if (rc != 0) {
			first = i;
			break;
		}
	}
	snprintf(
	    msg, sizeof(msg), "every strict prefix of %s needs more", what);
	T_EQ_INT(first, len, msg);
}

static const char resp_simple[] =
    "HTTP/1.1 200 OK\r\nContent-Type:  text/plain; charset=utf-8 \r\n"
    "Content-Length: 5\r\nServer: t\r\n\r\nhello";
static const char resp_continue[] =
    "HTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
    "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
static const char resp_204[] =
    "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n";
static const char resp_304[] = "HTTP/1.0 304 Not Modified\r\n\r\n";
static const char resp_cl0[] = "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n";
static const char resp_chunked[] =
    "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n"
    "Content-Length: 3\r\n\r\n"
    "5;name=value\r\nhello\r\n1A ; x\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    "0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n";
static const char resp_bare_lf[] = "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi";
static const char resp_chunked_lf[] =
    "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nhi\n0\n\n";
static const char resp_eof[] = "HTTP/1.0 200 OK\r\n\r\nbody until close";
static const char resp_gzip_te[] =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n"
    "Content-Length: 1\r\n\r\nraw";

static void
test_parse_valid(void)
{
	struct http_response r;
	char err[XR_ERRLEN] = "";

	T_EQ_INT(parse(resp_simple, 0, 100, &r, err), 1, "simple: complete");
	T_EQ_INT(r.status, 200, "simple: status");
	T_EQ_STR(r.reason, "OK", "simple: reason");
	T_EQ_STR(r.content_type, "text/plain; charset=utf-8",
	    "simple: content type, trimmed");
	T_EQ_STR(r.body, "hello", "simple: body");
	T_EQ_INT(r.body_len, 5, "simple: body length");
	T_EQ_INT(r.body_truncated, 0, "simple: not truncated");
	http_response_free(&r);
	T_OK(r.body == NULL && r.status == 0, "free zeroes the response");
	http_response_free(&r);
	T_OK(1, "free twice is fine");
	prefixes_need_more(resp_simple, strlen(resp_simple), "simple");

	/* Bytes after the message are not ours to read. */
	{
		char more[sizeof(resp_simple) + 8];

		snprintf(more, sizeof(more), "%sEXTRA", resp_simple);
		T_EQ_INT(parse(more, 0, 100, &r, err), 1,
		    "bytes after Content-Length are ignored");
		T_EQ_STR(r.body, "hello", "... and not in the body");
		http_response_free(&r);
	}

	T_EQ_INT(
	    parse(resp_continue, 0, 100, &r, err), 1, "1xx then 201: complete");
	T_EQ_INT(r.status, 201, "1xx skipped: final status");
	T_EQ_STR(r.reason, "Created", "1xx skipped: final reason");
	T_EQ_STR(r.body, "ok", "1xx skipped: body");
	http_response_free(&r);
	prefixes_need_more(resp_continue, strlen(resp_continue), "1xx+201");

	T_EQ_INT(parse(resp_204, 0, 100, &r, err), 1, "204: complete");
	T_EQ_INT(r.status, 204, "204: status");
	T_EQ_INT(r.body_len, 0, "204: no body despite Content-Length");
	http_response_free(&r);
	prefixes_need_more(resp_204, strlen(resp_204), "204");
	T_EQ_INT(parse(resp_304, 0, 100, &r, err), 1, "304: complete");
	T_EQ_INT(r.body_len, 0, "304: no body");
	http_response_free(&r);

	T_EQ_INT(
	    parse(resp_cl0, 0, 100, &r, err), 1, "Content-Length 0: complete");
	T_EQ_INT(r.status, 500, "Content-Length 0: status");
	T_EQ_STR(r.body, "", "Content-Length 0: empty body, not NULL");
	T_EQ_STR(r.content_type, "", "no Content-Type: empty");
	http_response_free(&r);

	T_EQ_INT(parse(resp_chunked, 0, 100, &r, err), 1, "chunked: complete");
	T_EQ_STR(r.body, "helloabcdefghijklmnopqrstuvwxyz",
	    "chunked: decoded (ext, uppercase hex, trailers; wins over "
	    "Content-Length)");
	T_EQ_INT(r.body_len, 31, "chunked: length");
	http_response_free(&r);
	prefixes_need_more(resp_chunked, strlen(resp_chunked), "chunked");

	T_EQ_INT(parse(resp_bare_lf, 0, 100, &r, err), 1, "bare LF: complete");
	T_EQ_STR(r.body, "hi", "bare LF: body");
	http_response_free(&r);
	prefixes_need_more(resp_bare_lf, strlen(resp_bare_lf), "bare LF");
	T_EQ_INT(parse(resp_chunked_lf, 0, 100, &r, err), 1,
	    "chunked with bare LF: complete");
	T_EQ_STR(r.body, "hi", "chunked with bare LF: body");
	http_response_free(&r);
	prefixes_need_more(
	    resp_chunked_lf, strlen(resp_chunked_lf), "chunked with bare LF");

	T_EQ_INT(parse(resp_eof, 0, 100, &r, err), 0,
	    "read-to-EOF: needs more while open");
	T_EQ_INT(parse(resp_eof, 1, 100, &r, err), 1,
	    "read-to-EOF: complete at eof");
	T_EQ_STR(r.body, "body until close", "read-to-EOF: body");
	http_response_free(&r);
	prefixes_need_more(resp_eof, strlen(resp_eof), "read-to-EOF");

	T_EQ_INT(parse(resp_gzip_te, 0, 100, &r, err), 0,
	    "Transfer-Encoding not ending in chunked: read to EOF");
	T_EQ_INT(
	    parse(resp_gzip_te, 1, 100, &r, err), 1, "... complete at eof");
	T_EQ_STR(r.body, "raw", "... body as sent");
	http_response_free(&r);

	T_EQ_INT(
	    parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 0, 9, &r, err),
	    1, "status line without a reason");
	T_EQ_STR(r.reason, "", "... empty reason");
	http_response_free(&r);
	T_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
		       "content-length:3\r\n\r\nabc",
		     0, 9, &r, err),
	    1, "equal duplicate Content-Lengths are fine");
	http_response_free(&r);

	/* The content type is cut to fit, never refused. */
	{
		char big[600];

		snprintf(big, sizeof(big),
		    "HTTP/1.1 200 OK\r\nContent-Type: %0300d\r\n"
		    "Content-Length: 0\r\n\r\n",
		    0);
		T_EQ_INT(parse(big, 0, 9, &r, err), 1, "long Content-Type");
		T_EQ_INT(strlen(r.content_type), sizeof(r.content_type) - 1,
		    "... cut to fit");
		http_response_free(&r);
	}

	/* Exactly HTTP_HEADERS_MAX header lines are fine. */
	{
		static char big[HTTP_HEADERS_MAX * 16 + 64];
		size_t n = 0;

		n += (size_t)sprintf(big + n, "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < HTTP_HEADERS_MAX - 1; i++)
			n += (size_t)sprintf(big + n, "X-H%d: v\r\n", i);
		sprintf(big + n, "Content-Length: 0\r\n\r\n");
		T_EQ_INT(parse(big, 0, 9, &r, err), 1,
		    "HTTP_HEADERS_MAX header lines are accepted");
		http_response_free(&r);
	}
}

/* ---- when a connection may carry the next request ---- */

static void
keep_case(const char *resp, int eof, size_t max, int want_keep,
    size_t want_used, const char *what)
{
	struct http_response r;
	char err[XR_ERRLEN] = "", msg[200];
	int rc = http_parse_response(
	    resp, strlen(resp), eof, max, &r, err, sizeof(err));

	snprintf(msg, sizeof(msg), "keep-alive %s: complete", what);
	T_EQ_INT(rc, 1, msg);
	snprintf(msg, sizeof(msg), "keep-alive %s: %s", what,
	    want_keep ? "kept" : "not kept");
	T_EQ_INT(r.keep_alive, want_keep, msg);
	if (want_keep) {
		if (want_used == 0)
			want_used = strlen(resp);
		snprintf(msg, sizeof(msg), "keep-alive %s: bytes used", what);
		T_EQ_INT(r.used, want_used, msg);
	}
	http_response_free(&r);
}

static void
test_keep_alive(void)
{
	static const char extra[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npongHTTP/1.1 200";

	keep_case("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong", 0, 100, 1,
	    0, "HTTP/1.1 with Content-Length");
	keep_case(extra, 0, 100, 1, sizeof(extra) - 1 - 12,
	    "bytes after the body are not counted as used");
	keep_case(resp_chunked, 0, 100, 1, 0, "chunked with trailers");
	keep_case(resp_chunked_lf, 0, 100, 1, 0, "chunked, bare LF");
	keep_case(resp_204, 0, 100, 1, 0,
	    "204 (no body whatever Content-Length says)");
	keep_case(resp_continue, 0, 100, 1, 0, "after interim 1xx heads");
	keep_case(resp_simple, 0, 2, 1, 0, "body over the cap but read whole");
	keep_case("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
		  "Content-Length: 0\r\n\r\n",
	    0, 100, 1, 0, "Connection: keep-alive");
	keep_case(resp_304, 0, 100, 0, 0, "HTTP/1.0");
	keep_case("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
		  "Content-Length: 0\r\n\r\n",
	    0, 100, 0, 0, "HTTP/1.0 even with keep-alive");
	keep_case("HTTP/1.1 200 OK\r\nConnection: close\r\n"
		  "Content-Length: 2\r\n\r\nok",
	    0, 100, 0, 0, "Connection: close");
	keep_case("HTTP/1.1 200 OK\r\nconnection:  Keep-Alive ,CLOSE \r\n"
		  "Content-Length: 2\r\n\r\nok",
	    0, 100, 0, 0, "close among other options, any case");
	keep_case("HTTP/1.1 200 OK\r\nConnection: closed\r\n"
		  "Content-Length: 2\r\n\r\nok",
	    0, 100, 1, 0, "an option that only starts with close");
	keep_case("HTTP/1.1 200 OK\r\n\r\nbody until close", 1, 100, 0, 0,
	    "body read to the end of the connection");
	keep_case(resp_gzip_te, 1, 100, 0, 0, "last coding not chunked");
}

static void
test_truncation(void)
{
	struct http_response r;
	char err[XR_ERRLEN] = "";

	T_EQ_INT(parse(resp_simple, 0, 3, &r, err), 1,
	    "Content-Length body over the cap: complete");
	T_EQ_STR(r.body, "hel", "... first max_body bytes kept");
	T_EQ_INT(r.body_truncated, 1, "... flagged");
	http_response_free(&r);
	T_EQ_INT(parse(resp_simple, 0, 5, &r, err), 1, "body at the cap");
	T_EQ_INT(r.body_truncated, 0, "... not flagged");
	http_response_free(&r);

	T_EQ_INT(parse(resp_chunked, 0, 7, &r, err), 1,
	    "chunked body over the cap: complete");
	T_EQ_STR(r.body, "helloab", "... first max_body bytes kept");
	T_EQ_INT(r.body_truncated, 1, "... flagged");
	http_response_free(&r);

	T_EQ_INT(parse(resp_eof, 0, 4, &r, err), 0,
	    "read-to-EOF over the cap: still open");
	T_EQ_INT(parse(resp_eof, 1, 4, &r, err), 1,
	    "read-to-EOF over the cap: complete at eof");
	T_EQ_STR(r.body, "body", "... first max_body bytes kept");
	T_EQ_INT(r.body_truncated, 1, "... flagged");
	http_response_free(&r);

	T_EQ_INT(parse(resp_simple, 0, 0, &r, err), 1, "max_body 0");
	T_OK(r.body != NULL && r.body_len == 0 && r.body_truncated,
	    "... empty body, flagged");
	http_response_free(&r);
}

static void
bad(const char *s, int eof, const char *reason)
{
	struct http_response r;
	char err[XR_ERRLEN] = "", what[300];

	snprintf(what, sizeof(what), "refused (%s)", reason);
	T_EQ_INT(parse(s, eof, 100, &r, err), -1, what);
	T_HAS(err, reason, what);
	T_OK(r.body == NULL, "... and nothing allocated");
}

static void
test_parse_bad(void)
{
	static char big[HTTP_HEAD_MAX + 4096];
	struct http_response r;
	char err[XR_ERRLEN] = "";
	size_t n;
	struct outbuf ob;

	bad("HTTP/2 200 OK\r\n\r\n", 0, "not an HTTP/1.x response");
	bad("HTTP/1.2 200 OK\r\n\r\n", 0, "bad status line");
	bad("HTTP/1.1 20 OK\r\n\r\n", 0, "bad status line");
	bad("HTTP/1.1 2000 OK\r\n\r\n", 0, "bad status line");
	bad("HTTP/1.1 200OK\r\n\r\n", 0, "bad status line");
	bad("HTTP/1.1 600 Nope\r\n\r\n", 0, "bad status line");
	bad("HTTP/1.1 099 Nope\r\n\r\n", 0, "bad status line");
	bad("HTTP/1.1 2x0 Nope\r\n\r\n", 0, "bad status line");
	bad("HTTP/1.1  200 OK\r\n\r\n", 0, "bad status line");
	bad("HTTP/1.1 200 O\x01K\r\n\r\n", 0, "control character");
	bad("\r\nHTTP/1.1 200 OK\r\n\r\n", 0, "not an HTTP/1.x response");
	bad("SSH-2.0", 0, "not an HTTP/1.x response");
	bad("<html>", 0, "not an HTTP/1.x response");
	bad("HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, "101");

	bad("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", 0,
	    "bad Content-Length");
	bad("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0,
	    "bad Content-Length");
	bad("HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\n", 0,
	    "bad Content-Length");
	bad("HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n", 0,
	    "bad Content-Length");
	bad("HTTP/1.1 200 OK\r\nContent-Length: 5,5\r\n\r\n", 0,
	    "bad Content-Length");
	bad("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 0,
	    "empty Content-Length");
	bad("HTTP/1.1 200 OK\r\nContent-Length: "
	    "99999999999999999999999\r\n\r\n",
	    0, "Content-Length too large");
	bad("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
	    "\r\nhello",
	    0, "conflicting Content-Length");

	bad("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 0, "line folding");
	bad("HTTP/1.1 200 OK\r\n\tX: a\r\n\r\n", 0, "line folding");
	bad("HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", 0,
	    "malformed header line");
	bad("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", 0, "malformed header line");
	bad("HTTP/1.1 200 OK\r\n: v\r\n\r\n", 0, "malformed header line");
	bad("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", 0, "control character");
	bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x\r\n\r\n", 0,
	    "bad Transfer-Encoding");
	bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n", 0,
	    "empty Transfer-Encoding");

	/* NUL bytes in the head (strlen cannot carry them). */
	{
		static const char nul[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";

		T_EQ_INT(http_parse_response(
			     nul, sizeof(nul) - 1, 0, 9, &r, err, sizeof(err)),
		    -1, "NUL in a header value is refused");
	}

	/* Chunked framing. */
	bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "fffffffffffffffff\r\n",
	    0, "chunk size too large");
	T_EQ_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		       "ffffffffffffffff\r\nabc",
		     0, 100, &r, err),
	    0, "the largest 64-bit chunk size just needs more");
	bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "ffffffffffffffff\r\nabc",
	    1, "closed inside the chunked body");
	bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 0,
	    "bad chunk size line");
	bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 0,
	    "bad chunk size line");
	bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\n", 0,
	    "bad chunk size line");
	bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "2\r\nabc\r\n",
	    0, "not followed by CRLF");
	bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "2\r\nab\rc",
	    0, "not followed by CRLF");
	bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "2;\x01\r\nab\r\n",
	    0, "chunk extension");

	/* The connection closed early. */
	bad("", 1, "without a response");
	bad("HTTP/1.1 100 Continue\r\n\r\n", 1, "interim 1xx");
	bad("HTTP/1.1 200 OK\r\nContent-", 1, "inside the response head");
	bad("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", 1,
	    "closed after 3 of 5 body bytes");

	/* Head too large: every byte of it before a line end is counted. */
	n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX: ");
	memset(big + n, 'a', sizeof(big) - n - 1);
	big[sizeof(big) - 1] = '\0';
	T_EQ_INT(http_parse_response(
		     big, HTTP_HEAD_MAX - 1, 0, 9, &r, err, sizeof(err)),
	    0, "a head just under HTTP_HEAD_MAX so far needs more");
	bad(big, 0, "larger than 16384 bytes (HTTP_HEAD_MAX)");
	memcpy(big + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	big[HTTP_HEAD_MAX] = '\0';
	T_EQ_INT(parse(big, 1, 9, &r, err), 1,
	    "a head of exactly HTTP_HEAD_MAX bytes is accepted");
	http_response_free(&r);
	memcpy(big + HTTP_HEAD_MAX - 4, "a\r\n\r\n", 5);
	big[HTTP_HEAD_MAX + 1] = '\0';
	bad(big, 1, "HTTP_HEAD_MAX");

	/* Too many header lines. */
	ob_init(&ob, big, sizeof(big));
	ob_puts(&ob, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX + 1; i++)
		ob_printf(&ob, "X: %d\r\n", i);
	ob_puts(&ob, "\r\n");
	bad(big, 0, "more than 100 header lines (HTTP_HEADERS_MAX)");
}

/* ---- http_post against servers forked here ---- */

enum srv_mode { SRV_ANSWER, SRV_SILENT, SRV_CLOSE };

struct srv {
	int lfd;
	unsigned port;
	pid_t pid;
};

static int
srv_listen(struct srv *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->pid = -1;
	if ((s->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->lfd, 4) < 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0) {
		perror("test server");
		return -1;
	}
	s->port = ntohs(a.sin_port);
	return 0;
}

/*
 * Reads one request and checks it carries the expected start line, Host
 * and body; exits 0 if so, 2 if not (after answering anyway).
 */
static void
srv_child(int fd, const char *host, const char *body, const char *reply,
    size_t reply_len)
{
	char req[8192], want[256];
	size_t n = 0, blen = strlen(body);
	char *end = NULL;
	int ok = 1;

	for (;;) {
		ssize_t r = recv(fd, req + n, sizeof(req) - 1 - n, 0);

		if (r <= 0)
			_exit(3);
		n += (size_t)r;
		req[n] = '\0';
		end = strstr(req, "\r\n\r\n");
		if (end != NULL && n >= (size_t)(end + 4 - req) + blen)
			break;
	}
	if (strncmp(req, "POST /hook?x=1 HTTP/1.1\r\n", 25) != 0)
		ok = 0;
	snprintf(want, sizeof(want), "\r\nHost: %s\r\n", host);
	if (strstr(req, want) == NULL)
		ok = 0;
	snprintf(want, sizeof(want), "\r\nContent-Length: %zu\r\n", blen);
	if (strstr(req, want) == NULL)
		ok = 0;
	if (strstr(req, "\r\nContent-Type: application/xmpp+xml\r\n") == NULL ||
	    strstr(req, "\r\nConnection: close\r\n") == NULL ||
	    strstr(req, "\r\nX-Test: 1\r\n") == NULL)
		ok = 0;
	if (strcmp(end + 4, body) != 0)
		ok = 0;
	if (reply != NULL)
		(void)xr_write_all(fd, reply, reply_len);
	shutdown(fd, SHUT_WR);
	/* Let the client read all before the close can reset it. */
	while (recv(fd, req, sizeof(req), 0) > 0)
		;
	_exit(ok ? 0 : 2);
}

static void
srv_start(struct srv *s, enum srv_mode mode, const char *host,
    const char *reply, size_t reply_len)
{
	fflush(stdout); /* or the child may print our buffer again */
	if ((s->pid = fork()) != 0) {
		close(s->lfd);
		s->lfd = -1;
		return;
	}
	alarm(10); /* never outlive a broken test */
	signal(SIGPIPE, SIG_IGN);
	int fd = accept(s->lfd, NULL, NULL);

	if (fd < 0)
		_exit(4);
	switch (mode) {
	case SRV_ANSWER:
		srv_child(fd, host, "<message to='a@b'/>", reply, reply_len);
		break;
	case SRV_SILENT:
		pause();
		break;
	case SRV_CLOSE:
		/* Read first: closing on unread bytes would send a reset. */
		srv_child(fd, host, "<message to='a@b'/>", NULL, 0);
		break;
	}
	_exit(0);
}

static int
srv_end(struct srv *s, int kill_it)
{
	int st = 0;

	if (s->lfd >= 0)
		close(s->lfd);
	if (s->pid <= 0)
		return -1;
	if (kill_it)
		kill(s->pid, SIGKILL);
	if (waitpid(s->pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static enum http_rc
post(const char *url, size_t max, int64_t timeout_ms, struct http_response *r,
    char *err)
{
	struct http_url u;
	struct http_request req = {0};

	memset(r, 0, sizeof(*r));
	if (http_url_parse(url, &u, err, XR_ERRLEN) < 0)
		return HTTP_UNREACHABLE;
	req.url = &u;
	req.headers = "X-Test: 1\r\n";
	req.content_type = "application/xmpp+xml";
	req.body = "<message to='a@b'/>";
	req.body_len = strlen(req.body);
	req.max_response_bytes = max;
	req.deadline_ms = xr_now_ms() + timeout_ms;
	return http_post(&req, r, err, XR_ERRLEN);
}

static void
answer_case(const char *what, const char *host_part, const char *reply,
    size_t reply_len, size_t max, int want_status, const char *want_body,
    int want_trunc)
{
	struct srv s;
	struct http_response r;
	char err[XR_ERRLEN] = "", url[400], host[300], msg[300];
	enum http_rc rc;

	if (srv_listen(&s) < 0) {
		T_OK(0, "test server");
		return;
	}
	snprintf(host, sizeof(host), "%s:%u", host_part, s.port);
	snprintf(url, sizeof(url), "http://%s/hook?x=1", host);
	srv_start(&s, SRV_ANSWER, host, reply, reply_len);
	rc = post(url, max, 5000, &r, err);
	snprintf(msg, sizeof(msg), "%s: HTTP_OK", what);
	T_EQ_INT(rc, HTTP_OK, msg);
	if (rc != HTTP_OK)
		printf("# err: %s\n", err);
	snprintf(msg, sizeof(msg), "%s: status", what);
	T_EQ_INT(r.status, want_status, msg);
	if (want_body != NULL) {
		snprintf(msg, sizeof(msg), "%s: body", what);
		T_EQ_STR(r.body, want_body, msg);
	}
	snprintf(msg, sizeof(msg), "%s: truncation flag", what);
	T_EQ_INT(r.body_truncated, want_trunc, msg);
	http_response_free(&r);
	snprintf(msg, sizeof(msg),
	    "%s: the server saw the Host, Content-Length and body", what);
	T_EQ_INT(srv_end(&s, 0), 0, msg);
}

static void
test_post(void)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain"
				 "\r\nContent-Length: 4\r\n\r\npong";
	static const char chunked[] =
	    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
	static const char eof_body[] = "HTTP/1.0 200 OK\r\n\r\nto the end";
	static char huge[200000], zs[1001];
	struct srv s;
	struct http_response r;
	char err[XR_ERRLEN] = "", url[200];
	enum http_rc rc;
	size_t n;

	answer_case("200 with a body", "127.0.0.1", ok, sizeof(ok) - 1, 1000,
	    200, "pong", 0);
	answer_case("100 Continue, then chunked", "127.0.0.1", chunked,
	    sizeof(chunked) - 1, 1000, 202, "abc", 0);
	answer_case("body to EOF", "127.0.0.1", eof_body, sizeof(eof_body) - 1,
	    1000, 200, "to the end", 0);

	/* A body far over the cap: reading stops, the start is kept. */
	n = (size_t)snprintf(huge, sizeof(huge),
	    "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
	    sizeof(huge) - 100);
	memset(huge + n, 'z', sizeof(huge) - n);
	memset(zs, 'z', sizeof(zs) - 1);
	answer_case("body over max_response_bytes", "127.0.0.1", huge,
	    sizeof(huge) - 100 + n, 1000, 200, zs, 1);

	/* A closed port. */
	if (srv_listen(&s) == 0) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", s.port);
		srv_end(&s, 0);
		rc = post(url, 1000, 2000, &r, err);
		T_EQ_INT(rc, HTTP_UNREACHABLE, "closed port: HTTP_UNREACHABLE");
		T_HAS(err, "connect 127.0.0.1:", "... err names the address");
		T_HAS(err, "Connection refused", "... and the reason");
		T_OK(r.body == NULL, "... no body");
	}

	/* A server that accepts and never answers. */
	if (srv_listen(&s) == 0) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", s.port);
		srv_start(&s, SRV_SILENT, "", NULL, 0);
		int64_t t0 = xr_now_ms(), took;

		rc = post(url, 1000, 300, &r, err);
		took = xr_now_ms() - t0;
		T_EQ_INT(rc, HTTP_TIMEOUT, "silent server: HTTP_TIMEOUT");
		T_HAS(err, "no response within 300 ms", "... err says so");
		T_OK(took >= 290 && took < 600, "... after about 300 ms");
		srv_end(&s, 1);
	}

	/* A server that accepts and closes. */
	if (srv_listen(&s) == 0) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", s.port);
		srv_start(&s, SRV_CLOSE, "", NULL, 0);
		rc = post(url, 1000, 2000, &r, err);
		T_OK(
		    rc == HTTP_UNREACHABLE, "closing server: HTTP_UNREACHABLE");
		T_HAS(err, "without a response", "... err says why");
		srv_end(&s, 1);
	}

	/*
	 * A listener whose queue is full: the kernel drops further SYNs, so
	 * the connect hangs (on kernels that queue it instead, the request
	 * goes unanswered: a timeout all the same).
	 */
	if (srv_listen(&s) == 0) {
		int fill[3];
		struct sockaddr_in a = {.sin_family = AF_INET};
		int64_t t0, took;

		listen(s.lfd, 0);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((uint16_t)s.port);
		for (int i = 0; i < 3; i++) {
			fill[i] =
			    socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			(void)connect(
			    fill[i], (struct sockaddr *)&a, sizeof(a));
		}
		nanosleep(&(struct timespec){.tv_nsec = 100000000L}, NULL);
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", s.port);
		t0 = xr_now_ms();
		rc = post(url, 1000, 300, &r, err);
		took = xr_now_ms() - t0;
		T_EQ_INT(rc, HTTP_TIMEOUT, "full accept queue: HTTP_TIMEOUT");
		printf("# err: %s\n", err);
		T_OK(strstr(err, "connect 127.0.0.1:") != NULL ||
			strstr(err, "no response within") != NULL,
		    "... err says which step");
		T_OK(took >= 290 && took < 600, "... after about 300 ms");
		for (int i = 0; i < 3; i++)
			close(fill[i]);
		srv_end(&s, 0);
	}

	/* The deadline has passed already. */
	rc = post("http://127.0.0.1:9/", 1000, 0, &r, err);
	T_EQ_INT(rc, HTTP_TIMEOUT, "past deadline: HTTP_TIMEOUT");
}

/* Not HTTP at all: the parser's refusal becomes HTTP_BAD_RESPONSE. */
static void
test_post_garbage(void)
{
	static const char junk[] = "SSH-2.0-OpenSSH_9.2\r\n";
	struct srv s;
	struct http_response r;
	char err[XR_ERRLEN] = "", url[200];
	enum http_rc rc;

	if (srv_listen(&s) < 0)
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook?x=1", s.port);
	srv_start(&s, SRV_ANSWER, "x", junk, sizeof(junk) - 1);
	rc = post(url, 1000, 2000, &r, err);
	T_EQ_INT(rc, HTTP_BAD_RESPONSE, "garbage: HTTP_BAD_RESPONSE");
	T_HAS(err, "not an HTTP/1.x response", "... err says so");
	T_OK(r.body == NULL, "... no body");
	srv_end(&s, 0);
}

/* ---- kept connections against servers forked here ---- */

/* Reads one request (head and Content-Length body): 1, or 0 at EOF. */
static int
read_request(int fd, char *req, size_t size)
{
	size_t n = 0;

	for (;;) {
		char *end, *cl;
		ssize_t r;

		req[n] = '\0';
		if ((end = strstr(req, "\r\n\r\n")) != NULL &&
		    (cl = strstr(req, "Content-Length: ")) != NULL &&
		    n >= (size_t)(end + 4 - req) + strtoul(cl + 16, NULL, 10))
			return strstr(req, "Connection: close") == NULL ? 1 : 2;
		if (n + 1 >= size)
			return -1;
		if ((r = recv(fd, req + n, size - 1 - n, 0)) <= 0)
			return 0;
		n += (size_t)r;
	}
}

/*
 * plan[i] is what the i-th connection does: answer that many requests
 * (reply), or, when negative, answer -plan[i] - 1 and close on reading
 * the next.  Exits 0 when every request came as planned, without
 * Connection: close, and the client closed or kept the last connection.
 */
static void
keep_srv_child(int lfd, const int *plan, int nconn, const char *reply)
{
	char req[8192];

	for (int i = 0; i < nconn; i++) {
		int fd = accept(lfd, NULL, NULL);
		int n = plan[i] < 0 ? -plan[i] : plan[i];

		if (fd < 0)
			_exit(4);
		for (int k = 0; k < n; k++) {
			if (read_request(fd, req, sizeof(req)) != 1)
				_exit(5);
			if (plan[i] < 0 && k == n - 1)
				break;
			(void)xr_write_all(fd, reply, strlen(reply));
		}
		close(fd);
	}
	_exit(0);
}

static void
keep_srv_start(struct srv *s, const int *plan, int nconn, const char *reply)
{
	fflush(stdout);
	if ((s->pid = fork()) != 0)
		return;
	alarm(10);
	signal(SIGPIPE, SIG_IGN);
	keep_srv_child(s->lfd, plan, nconn, reply);
}

static enum http_rc
client_post(struct http_client *hc, unsigned port, struct http_response *r,
    int *reused, char *err)
{
	struct http_url u;
	struct http_request req = {0};
	char url[100];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
	if (http_url_parse(url, &u, err, XR_ERRLEN) < 0)
		return HTTP_UNREACHABLE;
	req.url = &u;
	req.content_type = "application/xmpp+xml";
	req.body = "<message to='a@b'/>";
	req.body_len = strlen(req.body);
	req.max_response_bytes = 1000;
	req.deadline_ms = xr_now_ms() + 3000;
	return http_client_post(hc, &req, r, reused, err, XR_ERRLEN);
}

/* Posts n times through one client; the reused flags into reused[]. */
static int
client_run(const char *what, const int *plan, int nconn, const char *reply,
    int n, int *reused)
{
	struct http_client *hc = http_client_new();
	struct http_response r;
	struct srv s;
	char err[XR_ERRLEN] = "", msg[300];
	int ok = 1;

	if (hc == NULL || srv_listen(&s) < 0) {
		http_client_free(hc);
		return -1;
	}
	keep_srv_start(&s, plan, nconn, reply);
	for (int i = 0; i < n; i++) {
		enum http_rc rc = client_post(hc, s.port, &r, &reused[i], err);

		if (rc != HTTP_OK || r.status != 200) {
			printf("# %s: post %d: %d %s\n", what, i, (int)rc, err);
			ok = 0;
		}
		http_response_free(&r);
	}
	http_client_free(hc);
	snprintf(msg, sizeof(msg), "%s: every post answered 200", what);
	T_OK(ok, msg);
	snprintf(msg, sizeof(msg), "%s: the server saw what it planned", what);
	T_EQ_INT(srv_end(&s, 0), 0, msg);
	return 0;
}

static void
test_client(void)
{
	static const char ka[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static const char cl[] = "HTTP/1.1 200 OK\r\nConnection: "
				 "close\r\nContent-Length: 2\r\n\r\nok";
	const int one_conn[] = {3}, closes[] = {1, 1, 1}, drops[] = {-2, 1};
	int reused[3];
	struct http_client *hc;

	if (client_run(
		"three posts, one connection", one_conn, 1, ka, 3, reused) == 0)
		T_OK(!reused[0] && reused[1] && reused[2],
		    "... the second and third reused it");
	if (client_run(
		"Connection: close each time", closes, 3, cl, 3, reused) == 0)
		T_OK(
		    !reused[0] && !reused[1] && !reused[2], "... never reused");
	/* The server reads the second request and closes without a word. */
	if (client_run("kept connection closed under the request", drops, 2, ka,
		2, reused) == 0)
		T_OK(!reused[0] && !reused[1],
		    "... sent again on a new connection");
	if ((hc = http_client_new()) != NULL) {
		T_OK(!http_client_connected(hc), "a new client holds nothing");
		http_client_free(hc);
	}
	http_client_free(NULL);
}

/*
 * Last, because a name is looked up by glibc's resolver threads, which
 * live on for a while; servers forked after that inherit their memory
 * (valgrind would report it in those children).
 */
static void
test_post_by_name(void)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain"
				 "\r\nContent-Length: 4\r\n\r\npong";

	answer_case("by name (localhost)", "localhost", ok, sizeof(ok) - 1,
	    1000, 200, "pong", 0);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_urls();
	test_parse_valid();
	test_keep_alive();
	test_truncation();
	test_parse_bad();
	test_post();
	test_post_garbage();
	test_client();
	test_post_by_name();
	return t_done();
}
