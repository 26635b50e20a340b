/*
 * libFuzzer target for callback_url: the template check of the
 * configuration (conf_set), its expansion (bridge/urltmpl.c) and the
 * webhook client's URL parser (http_url_parse).  The input, split at NUL
 * bytes, is the template, then {from}, {to}, {type} and {kind}; its first
 * byte picks the size of the expansion buffer, allocated to the byte so
 * that ASan sees any write past it.  Besides crashes, leaks and undefined
 * behaviour it checks:
 *
 *  - an expansion that succeeds is NUL-terminated inside its buffer, and
 *    a larger buffer gives the same URL; one that fails in a buffer of
 *    4096 (the bridge's) is reported as too long, never half-written;
 *  - urltmpl_url succeeds exactly when the expansion fits and the parser
 *    takes it, and a refusal always says why;
 *  - what the parser takes has a host, a port, and a path that starts
 *    with '/' and fits its buffer;
 *  - for a template the bridge accepts (conf_set, then the start-up check
 *    with sample values, as route.c does), the values, whatever they are,
 *    never change the scheme, host or port: percent-encoding keeps a
 *    sender from steering a delivery to another server.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "http.h"
#include "urltmpl.h"
#include "util.h"

#define PARTS 5
#define BRIDGE_URL_BUF 4096 /* route.c's buffer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The values route.c's check_callback_url fills in at start-up. */
static const struct urltmpl_values sample = {
    "message", "chat", "user@example.org/res", "user@example.org/res"};

static void
check_parsed(const struct http_url *u)
{
	size_t pl = strnlen(u->path, sizeof(u->path));

	if (u->host[0] == '\0' ||
	    memchr(u->host, '\0', sizeof(u->host)) == NULL || u->port == 0 ||
	    u->port > 65535 || pl == sizeof(u->path) || u->path[0] != '/')
		abort();
}

/* Whether the bridge would start with tmpl as callback_url; if so,
 * where its URLs go (su). */
static int
accepted(const char *tmpl, struct http_url *su)
{
	struct conf c;
	char err[XR_ERRLEN], url[BRIDGE_URL_BUF];
	int ok;

	if (conf_defaults(&c) < 0)
		abort();
	ok = conf_set(&c, "callback_url", tmpl, err, sizeof(err)) == 0 &&
	    urltmpl_url(tmpl, &sample, url, sizeof(url), err, sizeof(err)) ==
		0 &&
	    http_url_parse(url, su, err, sizeof(err)) == 0;
	conf_free(&c);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[PARTS] = {"", NULL, NULL, NULL, NULL};
	struct urltmpl_values v;
	struct http_url u, su;
	char *in, *small, big[2 * BRIDGE_URL_BUF], url[BRIDGE_URL_BUF];
	char why[XR_ERRLEN];
	size_t outlen, n = 0;
	int rs, rb, ru;

	if (size < 1)
		return 0;
	/* 1..256, or the bridge's own size. */
	outlen = data[0] == 0xff ? BRIDGE_URL_BUF : (size_t)data[0] + 1;
	if ((in = malloc(size)) == NULL)
		return 0;
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	part[0] = in;
	for (char *p = in; p < in + size - 1 && n + 1 < PARTS; p++) {
		if (*p == '\0')
			part[++n] = p + 1;
	}
	v.from = part[1];
	v.to = part[2];
	v.type = part[3];
	v.kind = part[4];

	if ((small = malloc(outlen)) == NULL) {
		free(in);
		return 0;
	}
	rs = urltmpl_expand(part[0], &v, small, outlen);
	rb = urltmpl_expand(part[0], &v, big, sizeof(big));
	if (rs == 0 &&
	    (strnlen(small, outlen) == outlen || rb != 0 ||
		strcmp(small, big) != 0))
		abort();
	if (rs < 0 && rb == 0 && strlen(big) < outlen)
		abort();

	/* As the bridge does it, for a stanza arriving. */
	why[0] = '\0';
	ru = urltmpl_url(part[0], &v, url, sizeof(url), why, sizeof(why));
	if (ru < 0 && why[0] == '\0')
		abort();
	if (ru == 0) {
		if (rb != 0 || strcmp(url, big) != 0 ||
		    http_url_parse(url, &u, why, sizeof(why)) != 0)
			abort();
		check_parsed(&u);
	} else if (rb == 0 && strlen(big) < sizeof(url)) {
		/* It fitted, so the parser must be what refused it. */
		if (http_url_parse(big, &u, why, sizeof(why)) == 0)
			abort();
	} else if (url[0] != '\0') {
		abort();
	}

	if (ru == 0 && accepted(part[0], &su)) {
		check_parsed(&su);
		if (u.tls != su.tls || u.port != su.port ||
		    strcmp(u.host, su.host) != 0)
			abort();
	}
	free(small);
	free(in);
	return 0;
}
