/*
 * Callback URLs for the webhook client: absolute http:// or https://
 * URLs, checked so that what is kept can be sent as it is in a request
 * line and a Host header.
 */
#ifndef XR_HTTP_URL_H
#define XR_HTTP_URL_H

#include <stddef.h>

struct http_url {
	int tls;         /* https */
	char host[256];  /* name or IP literal, without brackets */
	unsigned port;   /* 80 / 443 unless given */
	char path[2048]; /* path and query, at least "/" */
};

/* Parses an absolute http:// or https:// URL; 0, or -1 with a reason. */
int http_url_parse(
    const char *url, struct http_url *u, char *err, size_t errlen);

#endif
