/*
 * callback_url expansion.  The template was checked when the
 * configuration was read (only the four placeholders, http or https).
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "http.h"
#include "urltmpl.h"

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* Appends s percent-encoded at out[*n]; -1 when it does not fit. */
static int
put_encoded(const char *s, char *out, size_t outlen, size_t *n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (unreserved(*p)) {
			if (*n + 1 >= outlen)
				return -1;
			out[(*n)++] = (char)*p;
		} else {
			if (*n + 3 >= outlen)
				return -1;
			out[(*n)++] = '%';
			out[(*n)++] = hex[*p >> 4];
			out[(*n)++] = hex[*p & 15];
		}
	}
	return 0;
}

int
urltmpl_expand(
    const char *tmpl, const struct urltmpl_values *v, char *out, size_t outlen)
{
	const char *values[URL_VARS] = {[URL_VAR_KIND] = v->kind,
	    [URL_VAR_TYPE] = v->type,
	    [URL_VAR_TO] = v->to,
	    [URL_VAR_FROM] = v->from};
	size_t n = 0;

	if (outlen == 0)
		return -1;
	while (*tmpl) {
		size_t i, hn = 0;

		for (i = 0; i < URL_VARS; i++) {
			hn = strlen(url_var_names[i]);
			if (strncmp(tmpl, url_var_names[i], hn) == 0)
				break;
		}
		if (i < URL_VARS) {
			if (put_encoded(values[i], out, outlen, &n) < 0)
				return -1;
			tmpl += hn;
			continue;
		}
		if (n + 1 >= outlen)
			return -1;
		out[n++] = *tmpl++;
	}
	out[n] = '\0';
	return 0;
}

int
urltmpl_url(const char *tmpl, const struct urltmpl_values *v, char *out,
    size_t outlen, char *why, size_t whylen)
{
	struct http_url u;

	if (urltmpl_expand(tmpl, v, out, outlen) < 0) {
		if (outlen > 0)
			out[0] = '\0';
		snprintf(why, whylen,
		    "callback URL longer than %zu characters once filled in",
		    outlen > 0 ? outlen - 1 : 0);
		return -1;
	}
	return http_url_parse(out, &u, why, whylen);
}
