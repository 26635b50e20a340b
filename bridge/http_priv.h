/*
 * What the files of the webhook client (http_url.c, http_resp.c,
 * http_conn.c, http.c) share and nobody else uses: the error writer and
 * the parser's entry point for the client, which knows one more way a
 * response can end (the receive cap) than http_parse_response offers.
 */
#ifndef XR_HTTP_PRIV_H
#define XR_HTTP_PRIV_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "http_resp.h"

static inline void http_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void
http_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* How the caller knows whether more bytes can come. */
enum http_feed {
	HTTP_FEED_MORE,  /* the connection is open */
	HTTP_FEED_EOF,   /* the peer closed it */
	HTTP_FEED_CAPPED /* the receive buffer is full: the rest is cut off */
};

/* http_parse_response, told how the bytes so far ended. */
int http_resp_parse(const char *buf, size_t len, enum http_feed f,
    size_t max_body, struct http_response *r, char *err, size_t errlen);

#endif
