/*
 * What the files of the credentials store (creds.c, creds_field.c,
 * creds_file.c) share and nobody else uses: the kinds' names and bits,
 * the checks of a hash's shape, and the quoting of input into errors.
 */
#ifndef XR_CREDS_PRIV_H
#define XR_CREDS_PRIV_H

#include <stddef.h>

#include "conf.h"

#define CREDS_QUOTE_MAX 64 /* bytes of input an error message echoes */
#define CREDS_NKINDS 3
#define CREDS_ALL_KINDS (CONF_KIND_MESSAGE | CONF_KIND_PRESENCE | CONF_KIND_IQ)

/* "message", "presence", "iq", and their CONF_KIND_* bits. */
extern const char *const creds_kind_names[CREDS_NKINDS];
extern const unsigned long creds_kind_bits[CREDS_NKINDS];

/*
 * Copies at most CREDS_QUOTE_MAX bytes of s for an error message,
 * printable ASCII only (anything else becomes '?'): errors end up in
 * logs, which must not receive raw bytes of a file.
 */
void creds_quote(char *dst, size_t dstlen, const char *s, size_t len);

/* 1 if h is CREDS_HASH_HEX lower-case hex digits, else 0. */
int creds_bearer_hash_ok(const char *h);

/* 1 if h has the shape of a yescrypt or sha512-crypt string, else 0
 * with the reason in err. */
int creds_basic_hash_ok(const char *h, char *err, size_t errlen);

#endif
