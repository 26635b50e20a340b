/*
 * The credentials file: who may submit stanzas, as which JIDs, of which
 * kinds.  Only the bridge and `xmpp-restd token|password` read it; it
 * holds no secret in the clear (Bearer tokens as SHA-256, passwords as
 * crypt(3) yescrypt strings).  The format is described in creds_file.c.
 */
#ifndef XR_CREDS_H
#define XR_CREDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CREDS_NAME_MAX 64          /* bytes of a credential's name */
#define CREDS_FILE_MAX (4UL << 20) /* a bigger file is refused */
#define CREDS_LINE_MAX 4096        /* bytes of a line, without its newline */
#define CREDS_HASH_HEX 64          /* hex digits of a Bearer hash (SHA-256) */
#define CREDS_TOKEN_MAX 1024       /* a longer Bearer token matches nothing */
/* A longer password matches nothing: libxcrypt's crypt_rn refuses any
 * passphrase of CRYPT_MAX_PASSPHRASE_SIZE (512) bytes or more. */
#define CREDS_PASSWORD_MAX 511
#define CREDS_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

enum cred_scheme { CRED_BEARER, CRED_BASIC };

struct cred {
	char *name;
	enum cred_scheme scheme;
	char *hash;  /* bearer: 64 hex digits; basic: a crypt(3) string */
	char **from; /* JID patterns; nfrom 0 means any JID of the domain */
	size_t nfrom;
	unsigned long kinds; /* CONF_KIND_* bits; never 0 */
	int64_t expires;     /* Unix time; 0: never */
	int64_t created;     /* Unix time; 0: not recorded */
	unsigned long rate;  /* submits per second; 0: unlimited */
};

struct creds {
	struct cred *v;
	size_t n;
};

/*
 * Parses a whole file's text (need not be NUL-ended).  Patterns must lie
 * under domain, the bridge's own.  0, or -1 with "LINE: reason" in err
 * (just "reason" when the text is over CREDS_FILE_MAX) and out left empty.
 */
int creds_parse(const char *text, size_t len, const char *domain,
    struct creds *out, char *err, size_t errlen);

/*
 * Reads path: 0 when read, 1 when it does not exist (out empty), -1 with
 * "PATH: reason" (or "PATH:LINE: reason") in err when it cannot be used,
 * including when it is a symbolic link or group or others have any
 * permission on it ("PATH is readable or writable by group or others
 * (mode 0644); chmod 600 it").
 */
int creds_load(const char *path, const char *domain, struct creds *out,
    char *err, size_t errlen);

void creds_free(struct creds *c);

const struct cred *creds_find(const struct creds *c, const char *name);

/* The Bearer credential whose hash matches token, compared in constant
 * time against every Bearer entry; NULL if none. */
const struct cred *creds_match_bearer(const struct creds *c, const char *token);

/* 1 if password is cr's (a Basic credential), else 0.  Slow on purpose. */
int cred_check_password(const struct cred *cr, const char *password);

/* 1 if cr may send as from (a full, bare or domain JID), else 0. */
int cred_allows_from(const struct cred *cr, const char *from);

/* 1 if cr may send stanzas of kind ("message", "presence", "iq"). */
int cred_allows_kind(const struct cred *cr, const char *kind);

/* 1 if the pattern is an exact JID, "*@domain" or "local@domain" with
 * resource "*", under the given domain, and has no space, tab or comma
 * (the file could not hold it); else 0 with a reason naming the pattern
 * in err. */
int creds_pattern_ok(
    const char *pattern, const char *domain, char *err, size_t errlen);

/* 1 if name is 1..CREDS_NAME_MAX bytes of [A-Za-z0-9._-], else 0. */
int creds_name_ok(const char *name);

/* "message,iq" into CONF_KIND_* bits: 0, or -1 with a reason in err. */
int creds_kinds_parse(
    const char *s, unsigned long *kinds, char *err, size_t errlen);

/* Lower-case hex SHA-256 of token's len bytes: what a Bearer entry holds. */
int creds_hash_token(
    const char *token, size_t len, char hex[CREDS_HASH_HEX + 1]);

/* 1 if cr has an expiry time and now (Unix time) is at or past it. */
int cred_expired(const struct cred *cr, int64_t now);

/* Takes ownership of cr's strings (cr is zeroed): 0, or -1 on ENOMEM.
 * c is empty or comes from creds_parse/creds_load. */
int creds_append(struct creds *c, struct cred *cr);

/* Removes and frees the entry called name: 0, or -1 if there is none. */
int creds_remove(struct creds *c, const char *name);

/* Frees what cr holds and zeroes it (not cr itself). */
void cred_clear(struct cred *cr);

/* Writes c in the file format, a header comment first: 0, or -1 if fp
 * reports an error. */
int creds_write(const struct creds *c, FILE *fp);

#endif
