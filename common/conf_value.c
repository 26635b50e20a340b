/*
 * The values a configuration key may take, one parser for each type of
 * the table in conf.c: a number in the key's range, a string of the
 * key's length, a set of names, a log level, a callback URL template.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_key.h"
#include "outbuf.h"
#include "util.h"

/* Names of the bits of a CONF_KINDS or CONF_ADDRS set, in bit order. */
static const char *const kind_names[] = {"message", "presence", "iq", NULL};
static const char *const addr_names[] = {"bare", "full", "host", NULL};
static const char *const auth_names[] = {"bearer", "basic", NULL};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* Parses "a,b,c" (names from names[]) into a bit set; none is an error. */
static int
set_names(const struct conf_key *k, const char *const *names, const char *v,
    unsigned long *out, char *err, size_t errlen)
{
	unsigned long bits = 0;
	const char *p = v;

	while (*p) {
		size_t n = strcspn(p, ", \t");
		size_t i;

		for (i = 0; n > 0 && names[i]; i++) {
			if (strlen(names[i]) == n &&
			    strncmp(p, names[i], n) == 0)
				break;
		}
		if (n > 0 && names[i] == NULL) {
			snprintf(err, errlen,
			    "%s: unknown item '%.*s'; use %s%s%s", k->name,
			    (int)(n > 64 ? 64 : n), p, names[0],
			    names[1] ? ", " : "", names[1] ? "..." : "");
			return -1;
		}
		if (n > 0)
			bits |= 1UL << i;
		p += n;
		p += strspn(p, ", \t");
	}
	if (bits == 0) {
		snprintf(err, errlen, "%s names nothing", k->name);
		return -1;
	}
	*out = bits;
	return 0;
}

/*
 * An http(s) URL whose only {placeholders} are the four we fill in, and
 * only in the path or query: {type} is whatever the sender wrote, so in
 * the host or port it would let a stanza choose the server it is POSTed
 * to.
 */
const char *const url_var_names[URL_VARS] = {[URL_VAR_KIND] = "{kind}",
    [URL_VAR_TYPE] = "{type}",
    [URL_VAR_TO] = "{to}",
    [URL_VAR_FROM] = "{from}"};

/* 1 if p starts with one of url_var_names. */
static int
is_url_var(const char *p)
{
	for (size_t i = 0; i < URL_VARS; i++) {
		if (strncmp(p, url_var_names[i], strlen(url_var_names[i])) == 0)
			return 1;
	}
	return 0;
}

static void
unknown_url_var(const char *p, char *err, size_t errlen)
{
	struct outbuf ob;

	ob_init(&ob, err, errlen);
	ob_printf(&ob, "callback_url: unknown placeholder at '%.20s'; use ", p);
	for (size_t i = 0; i < URL_VARS; i++)
		ob_printf(&ob, "%s%s",
		    i == 0                  ? ""
			: i + 1 == URL_VARS ? " or "
					    : ", ",
		    url_var_names[i]);
}

static int
check_url_template(const char *v, char *err, size_t errlen)
{
	const char *p, *auth;

	if (strncasecmp(v, "http://", 7) != 0 &&
	    strncasecmp(v, "https://", 8) != 0) {
		snprintf(err, errlen,
		    "callback_url must start with http:// or https://");
		return -1;
	}
	auth = v + (v[4] == ':' ? 7 : 8);
	if (memchr(auth, '{', strcspn(auth, "/?")) != NULL) {
		snprintf(err, errlen,
		    "callback_url: placeholders go in the path or query, "
		    "not in the host or port");
		return -1;
	}
	for (p = v; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(err, errlen,
			    "callback_url contains a space or control "
			    "character");
			return -1;
		}
		if (*p == '{' && !is_url_var(p)) {
			unknown_url_var(p, err, errlen);
			return -1;
		}
	}
	return 0;
}

static int
set_string(const struct conf_key *k, const char *v, char **slot, char *err,
    size_t errlen)
{
	size_t len = strlen(v);
	char *copy;

	if (len < k->min || len > k->max) {
		snprintf(err, errlen, "%s must be %llu to %llu characters long",
		    k->name, k->min, k->max);
		return -1;
	}
	if ((copy = strdup(v)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

int
conf_value_set(struct conf *c, const struct conf_key *k, const char *v,
    char *err, size_t errlen)
{
	char *base = (char *)c;
	unsigned long long n;

	switch (k->type) {
	case CONF_STR:
	case CONF_SECRET:
	case CONF_SECRET_FILE:
		return set_string(
		    k, v, (char **)(void *)(base + k->offset), err, errlen);
	case CONF_UINT:
		if (xr_parse_uint(v, k->min, k->max, &n) < 0) {
			snprintf(err, errlen,
			    "%s must be a whole number from %llu to %llu, not "
			    "'%s'",
			    k->name, k->min, k->max, v);
			return -1;
		}
		*(unsigned long *)(void *)(base + k->offset) = (unsigned long)n;
		return 0;
	case CONF_LEVEL:
		for (int i = 0; i < 4; i++) {
			if (strcmp(v, level_names[i]) == 0) {
				*(int *)(void *)(base + k->offset) = i;
				return 0;
			}
		}
		snprintf(err, errlen,
		    "log_level must be error, warn, info or debug, not "
		    "'%.100s'",
		    v);
		return -1;
	case CONF_TARGET:
		if (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0) {
			*(int *)(void *)(base + k->offset) = v[1] == 'y';
			return 0;
		}
		snprintf(err, errlen,
		    "log_target must be stderr or syslog, not '%.100s'", v);
		return -1;
	case CONF_KINDS:
	case CONF_ADDRS:
		return set_names(k,
		    k->type == CONF_KINDS ? kind_names : addr_names, v,
		    (unsigned long *)(void *)(base + k->offset), err, errlen);
	case CONF_AUTH:
		if (strcmp(v, "none") == 0) {
			*(unsigned long *)(void *)(base + k->offset) = 0;
			return 0;
		}
		return set_names(k, auth_names, v,
		    (unsigned long *)(void *)(base + k->offset), err, errlen);
	case CONF_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
			*(int *)(void *)(base + k->offset) = v[0] == 'y';
			return 0;
		}
		snprintf(err, errlen, "%s must be yes or no, not '%.100s'",
		    k->name, v);
		return -1;
	case CONF_URL:
		if (check_url_template(v, err, errlen) < 0)
			return -1;
		return set_string(
		    k, v, (char **)(void *)(base + k->offset), err, errlen);
	}
	snprintf(err, errlen, "internal: bad key type");
	return -1;
}
