/*
 * callback_url templates: {kind}, {type}, {to} and {from} filled in,
 * percent-encoded (RFC 3986: unreserved characters stay, every other byte
 * becomes %XX), so a JID can never change the URL's structure.
 */
#ifndef XR_URLTMPL_H
#define XR_URLTMPL_H

#include <stddef.h>

struct urltmpl_values {
	const char *kind, *type, *to, *from; /* NULL fills in nothing */
};

/* Writes the expanded URL into out; 0, or -1 if it does not fit. */
int urltmpl_expand(
    const char *tmpl, const struct urltmpl_values *v, char *out, size_t outlen);

/*
 * As urltmpl_expand, and the result must pass the webhook client's own
 * URL parser (http_url_parse): 0, or -1 with the reason in why.  Values
 * are percent-encoded, so only their length can make a URL fail here
 * (a path over what the client takes); such a URL can never be
 * delivered, whenever it is tried.
 */
int urltmpl_url(const char *tmpl, const struct urltmpl_values *v, char *out,
    size_t outlen, char *why, size_t whylen);

#endif
