/*
 * The project's minimal HTTP/1.1 client for webhook deliveries: http or
 * https (OpenSSL: TLS 1.2+, certificate and host name verified, SNI), no
 * redirects, every read and write bounded by a deadline and every size by
 * a cap.  A struct http_client keeps its connection to one scheme, host
 * and port between POSTs (HTTP/1.1 persistent connections, RFC 9112 §9.3)
 * when the answer allows it; http_post is the one-shot form
 * (Connection: close).  It blocks: it runs in a delivery worker of the
 * bridge, never in the bridge itself.
 */
#ifndef XR_HTTP_H
#define XR_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX (16UL * 1024UL) /* status line + headers */
#define HTTP_HEADERS_MAX 100          /* header lines */
#define HTTP_RETRY_AFTER_MAX 86400UL  /* s; a longer Retry-After is cut */

struct http_url {
	int tls;         /* https */
	char host[256];  /* name or IP literal, without brackets */
	unsigned port;   /* 80 / 443 unless given */
	char path[2048]; /* path and query, at least "/" */
};

/* Parses an absolute http:// or https:// URL; 0, or -1 with a reason. */
int http_url_parse(
    const char *url, struct http_url *u, char *err, size_t errlen);

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

struct http_request {
	const struct http_url *url;
	const char *ca_file; /* NULL: the system CA store */
	const char *headers; /* extra "Name: value\r\n" lines, or NULL */
	const char *content_type;
	const char *body;
	size_t body_len;
	size_t max_response_bytes;
	int64_t deadline_ms; /* CLOCK_MONOTONIC, as xr_now_ms() */
};

enum http_rc {
	HTTP_OK = 0,           /* a response was parsed */
	HTTP_UNREACHABLE = -1, /* DNS, connect, TLS or I/O failure */
	HTTP_TIMEOUT = -2,     /* the deadline passed */
	HTTP_BAD_RESPONSE = -3 /* the peer answered something not HTTP */
};

/* One POST on its own connection; on HTTP_OK, r holds the response
 * (free r->body). */
enum http_rc http_post(const struct http_request *req, struct http_response *r,
    char *err, size_t errlen);

/* A connection kept between POSTs; one owner, one request at a time. */
struct http_client;

struct http_client *http_client_new(void);
void http_client_free(struct http_client *hc);

/*
 * As http_post, over hc's kept connection when it leads to the same
 * scheme, host, port and CA file and still looks open; otherwise over a
 * new one, which is kept afterwards if the answer allows it
 * (r->keep_alive and nothing more was received).  A kept connection that
 * fails before any byte of the answer came is replaced once (see
 * http.c).  *reused says whether the answer came over a kept connection.
 */
enum http_rc http_client_post(struct http_client *hc,
    const struct http_request *req, struct http_response *r, int *reused,
    char *err, size_t errlen);

/* Whether hc holds a connection now (for tests and logs). */
int http_client_connected(const struct http_client *hc);

void http_response_free(struct http_response *r);

#endif
