/*
 * The webhook client's response parser: strict HTTP/1.x (RFC 9112) on any
 * prefix of the bytes received, so that the client can feed it a growing
 * buffer and the fuzzer can drive it alone.
 */
#ifndef XR_HTTP_RESP_H
#define XR_HTTP_RESP_H

#include <stddef.h>

#define HTTP_HEAD_MAX (16UL * 1024UL) /* status line + headers */
#define HTTP_HEADERS_MAX 100          /* header lines */
#define HTTP_RETRY_AFTER_MAX 86400UL  /* s; a longer Retry-After is cut */

struct http_response {
	int status;       /* 100..599 */
	char reason[128]; /* reason phrase, may be empty */
	char content_type[128];
	char *body; /* malloc'd, NUL-terminated; may be NULL */
	size_t body_len;
	int body_truncated; /* the body was larger than the cap */
	/* Retry-After in its delta-seconds form (RFC 9110 §10.2.3), capped
	 * at HTTP_RETRY_AFTER_MAX; 0 when absent, 0 or an HTTP-date. */
	unsigned long retry_after;
	/*
	 * The connection may carry another request: the answer was HTTP/1.1
	 * without "Connection: close", and its end was known from its own
	 * framing (Content-Length, chunks, or a status without a body), not
	 * from the end of the connection or the receive cap.
	 */
	int keep_alive;
	size_t used; /* bytes of buf the response took, interim heads too */
};

/*
 * Parses a complete or partial response held in buf.  eof says whether
 * the peer has closed the connection (needed when the body has neither a
 * Content-Length nor chunked encoding).  Returns 1 when the response is
 * complete (r filled; free r->body), 0 when more bytes are needed, -1
 * with a reason in err when the bytes can never be a valid response.  A
 * body over max_body is cut to max_body and flagged, not refused.
 */
int http_parse_response(const char *buf, size_t len, int eof, size_t max_body,
    struct http_response *r, char *err, size_t errlen);

/* Frees r->body and zeroes r; r may be NULL. */
void http_response_free(struct http_response *r);

#endif
