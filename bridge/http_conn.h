/*
 * One connection of the webhook client: a non-blocking TCP socket, with
 * TLS over it for https (OpenSSL: TLS 1.2+, certificate and host name
 * verified, SNI).  Every lookup, connect, handshake, read and write waits
 * in poll() and never outlives the deadline it is given.  For https the
 * caller must ignore SIGPIPE (see http_conn_write).
 */
#ifndef XR_HTTP_CONN_H
#define XR_HTTP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct ssl_st;
struct ssl_ctx_st;

/* Zeroed with fd -1 before first use; one owner. */
struct http_conn {
	int fd; /* -1: not open */
	struct ssl_ctx_st *ctx;
	struct ssl_st *ssl; /* NULL for http */
};

/*
 * Resolves req->url, connects and (for https) handshakes by
 * req->deadline_ms.  On failure c is closed and err says which step
 * failed.
 */
enum http_rc http_conn_open(struct http_conn *c, const struct http_request *req,
    char *err, size_t errlen);

/* Writes all n bytes by deadline (CLOCK_MONOTONIC ms, as xr_now_ms()). */
enum http_rc http_conn_write(const struct http_conn *c, const char *p, size_t n,
    int64_t deadline, char *err, size_t errlen);

/*
 * Reads what is there into p: *got bytes, 0 at the end of the stream.
 * Its caller knows what was awaited, so on HTTP_TIMEOUT it writes err
 * (over plain http this leaves err as it was).
 */
enum http_rc http_conn_read(const struct http_conn *c, char *p, size_t n,
    size_t *got, int64_t deadline, char *err, size_t errlen);

/* Whether c is open with nothing to read: not closed by the peer. */
int http_conn_quiet(const struct http_conn *c);

/* Closes c if open; c can be opened again. */
void http_conn_close(struct http_conn *c);

#endif
