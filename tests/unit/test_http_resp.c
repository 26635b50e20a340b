/*
 * The response parser (http_resp.c): whole responses, every strict prefix
 * of them (always "need more", never an error), each kind of refusal, the
 * body cap, and whether a response lets the connection be kept.
 */
#include <stdio.h>
#include <string.h>

#include "http_resp.h"
#include "outbuf.h"
#include "util.h"
#include "t.h"

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
	T_OK(r.body == NULL && r.status == 0, "free twice is fine");
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
}

/* Each way a body's end is known: length, chunks, or the end of the
 * connection. */
static void
test_parse_framing(void)
{
	struct http_response r;
	char err[XR_ERRLEN] = "";

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
}

/* What is unusual but valid, up to the limits. */
static void
test_parse_edges(void)
{
	struct http_response r;
	char err[XR_ERRLEN] = "";

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
test_parse_bad_head(void)
{
	struct http_response r;
	char err[XR_ERRLEN] = "";

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
}

static void
test_parse_bad_body(void)
{
	struct http_response r;
	char err[XR_ERRLEN] = "";

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
}

static void
test_parse_bad_limits(void)
{
	static char big[HTTP_HEAD_MAX + 4096];
	struct http_response r;
	char err[XR_ERRLEN] = "";
	size_t n;
	struct outbuf ob;

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

int
main(void)
{
	test_parse_valid();
	test_parse_framing();
	test_parse_edges();
	test_keep_alive();
	test_truncation();
	test_parse_bad_head();
	test_parse_bad_body();
	test_parse_bad_limits();
	return t_done();
}
