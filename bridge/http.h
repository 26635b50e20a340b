/*
 * The project's minimal HTTP/1.1 client for webhook deliveries: http or
 * https (http_conn.h), no redirects, every read and write bounded by a
 * deadline and every size by a cap.  A struct http_client keeps its
 * connection to one scheme, host and port between POSTs (HTTP/1.1
 * persistent connections, RFC 9112 §9.3) when the answer allows it.  It
 * blocks: it runs in a delivery worker of the bridge, never in the
 * bridge itself.  This header also brings the URL parser (http_url.h)
 * and the response parser (http_resp.h), which its callers use with it.
 */
#ifndef XR_HTTP_H
#define XR_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "http_resp.h"
#include "http_url.h"

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

/* A connection kept between POSTs; one owner, one request at a time. */
struct http_client;

struct http_client *http_client_new(void);
void http_client_free(struct http_client *hc);

/*
 * One POST of req; on HTTP_OK, r holds the response (free r->body).  It
 * goes over hc's kept connection when that leads to the same scheme,
 * host, port and CA file and still looks open; otherwise over a new one,
 * which is kept afterwards if the answer allows it (r->keep_alive and
 * nothing more was received).  A kept connection that fails before any
 * byte of the answer came is replaced once (see http.c).  *reused says
 * whether the answer came over a kept connection.
 */
enum http_rc http_client_post(struct http_client *hc,
    const struct http_request *req, struct http_response *r, int *reused,
    char *err, size_t errlen);

/* Whether hc holds a connection now (for tests and logs). */
int http_client_connected(const struct http_client *hc);

#endif
