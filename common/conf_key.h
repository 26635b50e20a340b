/*
 * What conf.c and conf_value.c share: the row of the key table and the
 * types of value a key takes.  Not for use outside common/conf*.c.
 */
#ifndef XR_CONF_KEY_H
#define XR_CONF_KEY_H

#include <stddef.h>

#include "conf.h"

enum conf_type {
	CONF_STR,
	CONF_UINT,
	CONF_LEVEL,
	CONF_TARGET,
	CONF_KINDS,
	CONF_ADDRS,
	CONF_URL,
	CONF_AUTH, /* like CONF_KINDS, but "none" is the empty set */
	CONF_BOOL, /* yes or no, into an int */
	/* Strings the responder never stores: a secret, or the path of the
	 * file holding one. */
	CONF_SECRET,
	CONF_SECRET_FILE
};

struct conf_key {
	const char *name;
	enum conf_reader readers; /* the programs that use it */
	enum conf_reload reload;
	enum conf_type type;
	size_t offset;
	const char *def; /* default as text; NULL for none */
	unsigned long long min, max;
};

/* Parses v as k's value into c; 0, or -1 with "reason" (naming k) in err. */
int conf_value_set(struct conf *c, const struct conf_key *k, const char *v,
    char *err, size_t errlen);

#endif
