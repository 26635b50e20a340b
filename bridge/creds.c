/*
 * A set of credentials in memory: made, searched and changed, and what a
 * credential allows: its token's hash or its password compared, the JIDs
 * and kinds it may send.  The file's format is in creds_file.c, the
 * checks of each field in creds_field.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "creds.h"
#include "creds_priv.h"
#include "jid.h"

_Static_assert(CREDS_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
    "crypt_rn must take every password we accept");

void
cred_clear(struct cred *cr)
{
	if (cr == NULL)
		return;
	free(cr->name);
	free(cr->hash);
	for (size_t i = 0; i < cr->nfrom; i++)
		free(cr->from[i]);
	free(cr->from);
	memset(cr, 0, sizeof(*cr));
}

void
creds_free(struct creds *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		cred_clear(&c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

int
creds_append(struct creds *c, struct cred *cr)
{
	struct cred *v;

	/* Grow at powers of two: n is the capacity's only record. */
	if ((c->n & (c->n - 1)) == 0) {
		size_t cap = c->n ? c->n * 2 : 1;

		if (cap > SIZE_MAX / sizeof(*v)) {
			errno = ENOMEM;
			return -1;
		}
		if ((v = realloc(c->v, cap * sizeof(*v))) == NULL)
			return -1;
		c->v = v;
	}
	c->v[c->n++] = *cr;
	memset(cr, 0, sizeof(*cr));
	return 0;
}

int
creds_remove(struct creds *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].name, name) != 0)
			continue;
		cred_clear(&c->v[i]);
		memmove(
		    &c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof(c->v[0]));
		c->n--;
		return 0;
	}
	return -1;
}

const struct cred *
creds_find(const struct creds *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	}
	return NULL;
}

/*
 * Every request hashes its token.  EVP_sha256() makes each EVP_Digest
 * look the implementation up again (EVP_MD_fetch, with its locks) and
 * allocate a context, which would double the cost of a hash that is a
 * large part of the bridge's work per request.  Both are made once and
 * kept for the life of the process (callers are on one thread: the
 * bridge's loop, or a command).
 */
static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;

static int
sha256(const char *data, size_t len, unsigned char *md, unsigned int *mdlen)
{
	if (sha256_md == NULL &&
	    (sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return 0;
	if (sha256_ctx == NULL && (sha256_ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	return EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) &&
	    EVP_DigestUpdate(sha256_ctx, data, len) &&
	    EVP_DigestFinal_ex(sha256_ctx, md, mdlen);
}

int
creds_hash_token(const char *token, size_t len, char hex[CREDS_HASH_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!sha256(token, len, md, &mdlen) || mdlen * 2 != CREDS_HASH_HEX)
		return -1;
	for (size_t i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[CREDS_HASH_HEX] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

const struct cred *
creds_match_bearer(const struct creds *c, const char *token)
{
	char hex[CREDS_HASH_HEX + 1];
	const struct cred *match = NULL;
	size_t len;

	if (c == NULL || token == NULL)
		return NULL;
	len = strnlen(token, CREDS_TOKEN_MAX + 1);
	if (len == 0 || len > CREDS_TOKEN_MAX ||
	    creds_hash_token(token, len, hex) < 0)
		return NULL;
	/* Every entry is compared, so the time taken does not tell which
	 * (or whether one) matched. */
	for (size_t i = 0; i < c->n; i++) {
		const struct cred *cr = &c->v[i];

		if (cr->scheme == CRED_BEARER && cr->hash != NULL &&
		    CRYPTO_memcmp(hex, cr->hash, CREDS_HASH_HEX) == 0)
			match = cr;
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	return match;
}

int
cred_check_password(const struct cred *cr, const char *password)
{
	struct crypt_data *cd;
	const char *h;
	size_t hlen;
	int ok = 0;

	if (cr == NULL || cr->scheme != CRED_BASIC || cr->hash == NULL ||
	    password == NULL ||
	    strnlen(password, CREDS_PASSWORD_MAX + 1) > CREDS_PASSWORD_MAX)
		return 0;
	/* ~32 KiB: too much for a stack that may be a thread's. */
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	h = crypt_rn(password, cr->hash, cd, (int)sizeof(*cd));
	hlen = strlen(cr->hash);
	/* A failure gives NULL or a string starting with '*', which no
	 * stored hash does. */
	if (h != NULL && h[0] != '*' && strlen(h) == hlen &&
	    CRYPTO_memcmp(h, cr->hash, hlen) == 0)
		ok = 1;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* Whether pattern p (checked by creds_pattern_ok) allows the JID from. */
static int
pattern_allows(const char *pat, const char *from)
{
	struct jid_parts p, f;
	size_t plen = strlen(pat);

	jid_split(from, &f);
	if (strncmp(pat, "*@", 2) == 0) {
		const char *d = pat + 2;

		return f.has_local && f.llen > 0 &&
		    jid_span_eq_fold(f.domain, f.dlen, d, strlen(d));
	}
	jid_split(pat, &p);
	if (plen >= 2 && strcmp(pat + plen - 2, "/*") == 0) {
		/* A resource of "*": jsplit cut it off as the resource. */
		return f.has_local && p.has_local && f.llen == p.llen &&
		    memcmp(f.local, p.local, p.llen) == 0 &&
		    jid_span_eq_fold(f.domain, f.dlen, p.domain, p.dlen);
	}
	if (f.has_local != p.has_local || f.has_res != p.has_res ||
	    f.llen != p.llen || f.rlen != p.rlen)
		return 0;
	return (p.llen == 0 || memcmp(f.local, p.local, p.llen) == 0) &&
	    jid_span_eq_fold(f.domain, f.dlen, p.domain, p.dlen) &&
	    (p.rlen == 0 || memcmp(f.res, p.res, p.rlen) == 0);
}

int
cred_allows_from(const struct cred *cr, const char *from)
{
	if (cr == NULL || from == NULL)
		return 0;
	if (cr->nfrom == 0)
		return 1;
	for (size_t i = 0; i < cr->nfrom; i++) {
		if (pattern_allows(cr->from[i], from))
			return 1;
	}
	return 0;
}

int
cred_allows_kind(const struct cred *cr, const char *kind)
{
	if (cr == NULL || kind == NULL)
		return 0;
	for (size_t i = 0; i < CREDS_NKINDS; i++) {
		if (strcmp(kind, creds_kind_names[i]) == 0)
			return (cr->kinds & creds_kind_bits[i]) != 0;
	}
	return 0;
}

int
cred_expired(const struct cred *cr, int64_t now)
{
	return cr != NULL && cr->expires != 0 && now >= cr->expires;
}
