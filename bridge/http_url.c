/*
 * Callback URL checks (http_url.h).  A URL is refused rather than
 * repaired: whatever is kept goes raw into the request line and the Host
 * header, so it holds no space, control or non-ASCII byte, no fragment
 * and no credentials, and its host and path fit struct http_url.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "http_priv.h"
#include "http_url.h"
#include "util.h"

static int
host_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Sets the scheme's defaults; returns where the authority starts. */
static const char *
url_scheme(const char *url, struct http_url *u, char *err, size_t errlen)
{
	if (strncasecmp(url, "http://", 7) == 0) {
		u->port = 80;
		return url + 7;
	}
	if (strncasecmp(url, "https://", 8) == 0) {
		u->tls = 1;
		u->port = 443;
		return url + 8;
	}
	http_seterr(
	    err, errlen, "callback URL must start with http:// or https://");
	return NULL;
}

/* Anything refused here would be sent raw in the request line. */
static int
url_chars(const char *url, char *err, size_t errlen)
{
	for (const char *q = url; *q != '\0'; q++) {
		unsigned char c = (unsigned char)*q;

		if (c <= 0x20 || c == 0x7f) {
			http_seterr(err, errlen,
			    "callback URL must not contain spaces or "
			    "control characters");
			return -1;
		}
		if (c >= 0x80) {
			http_seterr(err, errlen,
			    "callback URL must be ASCII (percent-encode the "
			    "path, use the punycode host name)");
			return -1;
		}
		if (c == '#') {
			http_seterr(err, errlen,
			    "callback URL must not contain a fragment (#...)");
			return -1;
		}
	}
	return 0;
}

/* Finds the host in [p, auth_end): its span, and where it ends (*after). */
static int
url_host_span(const char *p, const char *auth_end, const char **host,
    const char **host_end, const char **after, char *err, size_t errlen)
{
	if (*p == '[') {
		*host = p + 1;
		*host_end = memchr(*host, ']', (size_t)(auth_end - *host));
		if (*host_end == NULL) {
			http_seterr(err, errlen,
			    "callback URL has an unterminated [IPv6] host");
			return -1;
		}
		*after = *host_end + 1;
		return 0;
	}
	*host = p;
	*host_end = memchr(p, ':', (size_t)(auth_end - p));
	if (*host_end == NULL)
		*host_end = auth_end;
	*after = *host_end;
	for (const char *q = p; q < *host_end; q++) {
		if (!host_char(*q)) {
			http_seterr(err, errlen,
			    "callback URL host must not contain '%c'", *q);
			return -1;
		}
	}
	return 0;
}

/* Copies the host into u; returns where the port (if any) starts. */
static const char *
url_host(const char *p, const char *auth_end, struct http_url *u, char *err,
    size_t errlen)
{
	const char *host, *host_end, *after;
	struct in6_addr a6;
	size_t n;

	if (url_host_span(p, auth_end, &host, &host_end, &after, err, errlen) <
	    0)
		return NULL;
	n = (size_t)(host_end - host);
	if (n == 0) {
		http_seterr(err, errlen, "callback URL has no host");
		return NULL;
	}
	if (n >= sizeof(u->host)) {
		http_seterr(err, errlen,
		    "callback URL host is longer than %zu characters",
		    sizeof(u->host) - 1);
		return NULL;
	}
	memcpy(u->host, host, n);
	u->host[n] = '\0';
	if (*p == '[' && inet_pton(AF_INET6, u->host, &a6) != 1) {
		http_seterr(err, errlen,
		    "callback URL has a bad IPv6 address '%s'", u->host);
		return NULL;
	}
	return after;
}

/* [p, auth_end) is empty or ":port". */
static int
url_port(const char *p, const char *auth_end, struct http_url *u, char *err,
    size_t errlen)
{
	char port[6];
	unsigned long long v;
	size_t n;

	if (p == auth_end)
		return 0;
	if (*p != ':') {
		http_seterr(
		    err, errlen, "callback URL has '%c' after the host", *p);
		return -1;
	}
	n = (size_t)(auth_end - p - 1);
	if (n == 0 || n >= sizeof(port)) {
		http_seterr(
		    err, errlen, "callback URL has a bad port (1-65535)");
		return -1;
	}
	memcpy(port, p + 1, n);
	port[n] = '\0';
	if (xr_parse_uint(port, 1, 65535, &v) < 0) {
		http_seterr(
		    err, errlen, "callback URL has a bad port (1-65535)");
		return -1;
	}
	u->port = (unsigned)v;
	return 0;
}

/* "http://h?q" asks for "/?q" (RFC 3986 §6.2.3). */
static int
url_path(const char *p, struct http_url *u, char *err, size_t errlen)
{
	size_t n = strlen(p) + (*p == '/' ? 0 : 1);

	if (n >= sizeof(u->path)) {
		http_seterr(err, errlen,
		    "callback URL path is longer than %zu characters",
		    sizeof(u->path) - 1);
		return -1;
	}
	u->path[0] = '/';
	memcpy(u->path + (*p == '/' ? 0 : 1), p, strlen(p) + 1);
	return 0;
}

int
http_url_parse(const char *url, struct http_url *u, char *err, size_t errlen)
{
	const char *p, *auth_end;

	memset(u, 0, sizeof(*u));
	if (url == NULL)
		url = "";
	if ((p = url_scheme(url, u, err, errlen)) == NULL ||
	    url_chars(url, err, errlen) < 0)
		return -1;
	auth_end = p + strcspn(p, "/?");
	if (memchr(p, '@', (size_t)(auth_end - p)) != NULL) {
		http_seterr(err, errlen,
		    "callback URL must not contain user:password@ (send "
		    "credentials in a header)");
		return -1;
	}
	if ((p = url_host(p, auth_end, u, err, errlen)) == NULL ||
	    url_port(p, auth_end, u, err, errlen) < 0)
		return -1;
	return url_path(auth_end, u, err, errlen);
}
