/*
 * Authentication and authorization of submitted stanzas.
 *
 * Three costs shape this file.  A stat() per turn of the loop (shared by
 * the requests that turn handles, each of which arrived after the turn's
 * wait returned) is what lets a revoked token stop working at once
 * without a signal.  A yescrypt check
 * takes milliseconds of the bridge's only thread, so a Basic header that
 * was verified once is remembered (by a keyed hash, for a few minutes, and
 * forgotten when the file changes); an unknown user name costs the same
 * check as a known one, so timing does not tell which names exist.  And
 * failed attempts are counted per client address (an IPv6 one by its
 * /64, see addrkey.h) in a fixed table, so a guesser gets 429s instead
 * of more guesses.  A credential with a rate (creds.h) has a token bucket
 * here (rate.h): past it, its requests get 429 with Retry-After.
 */
#include <errno.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "addrkey.h"
#include "auth.h"
#include "creds.h"
#include "log.h"
#include "loop.h"
#include "outbuf.h"
#include "rate.h"

#define CACHE_SLOTS 64
#define CACHE_TTL_MS (5LL * 60 * 1000)
#define STRIKE_SLOTS 1024
#define BASIC_MAX 1024 /* bytes of a decoded user:password */

struct verified {
	unsigned char key[32]; /* SHA-256 of cache_salt and the header */
	unsigned long gen;     /* credentials generation it was made under */
	int64_t until;
	char name[CREDS_NAME_MAX + 1];
};

struct strike {
	char addr[ADDRKEY_MAX]; /* addr_key() of the client's address */
	int64_t since;          /* ms; the window runs from the first failure */
	unsigned long n;
};

struct auth {
	struct loop *lp;
	/* Settings: the schemes and the realm only a restart changes. */
	unsigned long schemes; /* CONF_AUTH_* bits; 0: "auth none" */
	char *jid;
	char *credentials_file;
	int trust_remote_user;
	unsigned long fail_limit, fail_window;

	struct creds creds;
	struct rate_table rates;
	unsigned long gen;   /* bumped each time creds is replaced */
	struct stat file_id; /* st_ino 0: no file read */
	int file_warned;     /* the bad version of the file was reported */
	unsigned long
	    checked_turn; /* of the loop, when the file was stat()ed */
	unsigned char cache_salt[16];
	struct verified cache[CACHE_SLOTS];
	struct strike strikes[STRIKE_SLOTS];
	size_t nstrikes;   /* slots with n > 0 */
	struct cred dummy; /* see dummy_cred */
};

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void
install(struct auth *a, const struct creds *fresh, const struct stat *st)
{
	creds_free(&a->creds);
	a->creds = *fresh;
	a->file_id = *st;
	a->file_warned = 0;
	a->gen++;
}

/* Re-reads the file if it is not the one we read last. */
static void
refresh(struct auth *a)
{
	struct stat st;
	struct creds fresh = {0};
	char err[XR_ERRLEN];
	int rc;

	if (a->checked_turn == loop_turn(a->lp) && a->checked_turn != 0)
		return;
	a->checked_turn = loop_turn(a->lp);
	if (stat(a->credentials_file, &st) < 0) {
		if (errno == ENOENT && a->file_id.st_ino != 0) {
			struct stat none;

			memset(&none, 0, sizeof(none));
			log_warnx("%s was removed: no credentials are valid",
			    a->credentials_file);
			install(a, &fresh, &none);
		}
		return;
	}
	if (same_file(&st, &a->file_id))
		return;
	rc = creds_load(a->credentials_file, a->jid, &fresh, err, sizeof(err));
	if (rc < 0) {
		/* Keep what we had: a half-edited file must not open doors. */
		if (!a->file_warned)
			log_warnx("not reloading credentials: %s", err);
		a->file_warned = 1;
		return;
	}
	install(a, &fresh, &st);
	log_info("credentials read: %zu", a->creds.n);
}

/* The settings a reload may change. */
static int
take_settings(struct auth *a, const struct conf *c)
{
	char *path = strdup(c->credentials_file);

	if (path == NULL)
		return -1;
	free(a->credentials_file);
	a->credentials_file = path;
	a->trust_remote_user = c->trust_remote_user;
	a->fail_limit = c->auth_fail_limit;
	a->fail_window = c->auth_fail_window;
	return 0;
}

/* Reads the credentials at the start; 0, or -1 with err. */
static int
first_read(struct auth *a, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if (RAND_bytes(a->cache_salt, sizeof(a->cache_salt)) != 1) {
		snprintf(err, errlen, "no random bytes for the auth cache");
		return -1;
	}
	rc = creds_load(a->credentials_file, a->jid, &a->creds, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		log_warnx("%s does not exist: every request is refused until "
			  "a credential is added (xmpp-restd token add NAME)",
		    a->credentials_file);
		memset(&a->file_id, 0, sizeof(a->file_id));
	} else if (stat(a->credentials_file, &st) == 0) {
		a->file_id = st;
		log_info("credentials read: %zu", a->creds.n);
	}
	if (a->trust_remote_user)
		log_info("trust_remote_user: REMOTE_USER names a credential");
	return 0;
}

struct auth *
auth_new(struct loop *lp, const struct conf *c, char *err, size_t errlen)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (a == NULL || (a->jid = strdup(c->jid)) == NULL ||
	    take_settings(a, c) < 0) {
		snprintf(err, errlen, "out of memory");
		auth_free(a);
		return NULL;
	}
	a->lp = lp;
	a->schemes = c->auth;
	if (c->auth == 0) {
		log_warnx("auth none: anyone who can reach the responder may "
			  "send any stanza from any JID of %s",
		    c->jid);
		return a;
	}
	if (first_read(a, err, errlen) < 0) {
		auth_free(a);
		return NULL;
	}
	return a;
}

void
auth_reconfigure(struct auth *a, const struct conf *c)
{
	if (take_settings(a, c) < 0)
		log_warnx("out of memory: the credentials file stays %s",
		    a->credentials_file);
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	creds_free(&a->creds);
	rate_table_free(&a->rates);
	OPENSSL_cleanse(a->cache, sizeof(a->cache));
	free(a->jid);
	free(a->credentials_file);
	free(a);
}

/* ---- failed attempts per address ---- */

static struct strike *
strike_find(struct auth *a, const char *addr, int64_t now, int create)
{
	int64_t window = (int64_t)a->fail_window * 1000;
	struct strike *free_slot = NULL, *oldest = &a->strikes[0];

	/* Every request looks here: with no failures on record (the usual
	 * case) it must cost nothing, not a scan of every slot. */
	if (a->nstrikes == 0 && !create)
		return NULL;
	for (size_t i = 0; i < STRIKE_SLOTS; i++) {
		struct strike *s = &a->strikes[i];

		if (s->n > 0 && now - s->since >= window) {
			s->n = 0;
			a->nstrikes--;
		}
		if (s->n > 0 && strcmp(s->addr, addr) == 0)
			return s;
		if (s->n == 0 && free_slot == NULL)
			free_slot = s;
		if (s->n > 0 && s->since < oldest->since)
			oldest = s;
	}
	if (!create)
		return NULL;
	if (free_slot == NULL) {
		free_slot = oldest;
		a->nstrikes--;
	}
	xr_strlcpy(free_slot->addr, addr, sizeof(free_slot->addr));
	free_slot->since = now;
	free_slot->n = 0;
	return free_slot;
}

static void
strike(struct auth *a, const struct auth_request *rq)
{
	struct strike *s;
	char key[ADDRKEY_MAX];

	if (rq->remote_addr == NULL || *rq->remote_addr == '\0')
		return;
	addr_key(rq->remote_addr, key);
	if ((s = strike_find(a, key, loop_now(a->lp), 1)) != NULL &&
	    s->n++ == 0)
		a->nstrikes++;
}

static int
throttled(
    struct auth *a, const struct auth_request *rq, struct auth_result *res)
{
	int64_t now = loop_now(a->lp), left;
	struct strike *s;
	char key[ADDRKEY_MAX];

	if (rq->remote_addr == NULL || *rq->remote_addr == '\0')
		return 0;
	addr_key(rq->remote_addr, key);
	s = strike_find(a, key, now, 0);
	if (s == NULL || s->n < a->fail_limit)
		return 0;
	left = s->since + (int64_t)a->fail_window * 1000 - now;
	res->verdict = AUTH_THROTTLED;
	res->retry_after = (unsigned long)((left + 999) / 1000);
	if (res->retry_after == 0)
		res->retry_after = 1;
	snprintf(res->text, sizeof(res->text),
	    "too many failed authentication attempts from %s; try again "
	    "in %lu s",
	    key, res->retry_after);
	return 1;
}

/* ---- schemes ---- */

static void
challenge(const struct auth *a, struct auth_result *res, int bad_token)
{
	struct outbuf ob;

	ob_init(&ob, res->challenge, sizeof(res->challenge));
	if (a->schemes & CONF_AUTH_BEARER)
		ob_printf(&ob, "Bearer realm=\"%.100s\"%s\n", a->jid,
		    bad_token ? ", error=\"invalid_token\"" : "");
	if (a->schemes & CONF_AUTH_BASIC)
		ob_printf(
		    &ob, "Basic realm=\"%.100s\", charset=\"UTF-8\"\n", a->jid);
}

static void deny(const struct auth *a, struct auth_result *res,
    enum auth_verdict v, int bad_token, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
deny(const struct auth *a, struct auth_result *res, enum auth_verdict v,
    int bad_token, const char *fmt, ...)
{
	va_list ap;

	res->verdict = v;
	va_start(ap, fmt);
	vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
	if (v == AUTH_UNAUTHORIZED)
		challenge(a, res, bad_token);
}

static int
b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Decodes standard base64 (padding optional) into out; -1 if malformed. */
static int
b64_decode(const char *in, char *out, size_t outcap, size_t *outlen)
{
	unsigned long acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *in && *in != '='; in++) {
		int v = b64_value((unsigned char)*in);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= outcap)
				return -1;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	while (*in == '=')
		in++;
	if (*in != '\0' || bits >= 6)
		return -1;
	out[n] = '\0';
	*outlen = n;
	return 0;
}

/* 0, or -1 when no key could be made: then nothing is cached, since
 * two headers must never share a key. */
static int
cache_key(const struct auth *a, const char *header, unsigned char key[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 32;
	int rc = -1;

	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, a->cache_salt, sizeof(a->cache_salt)) == 1 &&
	    EVP_DigestUpdate(ctx, header, strlen(header)) == 1 &&
	    EVP_DigestFinal_ex(ctx, key, &len) == 1 && len == 32)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

static const struct cred *
cache_lookup(const struct auth *a, const unsigned char key[32], int64_t now)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		const struct verified *v = &a->cache[i];

		if (v->gen == a->gen && v->until > now &&
		    memcmp(v->key, key, 32) == 0)
			return creds_find(&a->creds, v->name);
	}
	return NULL;
}

static void
cache_store(
    struct auth *a, const unsigned char key[32], const char *name, int64_t now)
{
	struct verified *slot = &a->cache[0];

	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		if (a->cache[i].gen != a->gen || a->cache[i].until <= now) {
			slot = &a->cache[i];
			break;
		}
		if (a->cache[i].until < slot->until)
			slot = &a->cache[i];
	}
	memcpy(slot->key, key, 32);
	slot->gen = a->gen;
	slot->until = now + CACHE_TTL_MS;
	xr_strlcpy(slot->name, name, sizeof(slot->name));
}

/* What an unknown name's password is checked against: any Basic entry. */
static const struct cred *
dummy_cred(struct auth *a)
{
	const struct cred *any = NULL;

	for (size_t i = 0; i < a->creds.n; i++) {
		if (a->creds.v[i].scheme == CRED_BASIC)
			any = &a->creds.v[i];
	}
	if (any != NULL) {
		/* Same algorithm and cost as a real one; never matches, as
		 * the name differs and the result is thrown away. */
		a->dummy = *any;
		return &a->dummy;
	}
	return NULL;
}

static const struct cred *
check_basic(struct auth *a, const char *header, const char *b64,
    struct auth_result *res)
{
	char plain[BASIC_MAX + 1];
	unsigned char key[32];
	const struct cred *cr;
	char *colon;
	size_t len;
	int64_t now = loop_now(a->lp);
	int ok, keyed;

	while (*b64 == ' ')
		b64++;
	if (strlen(b64) > BASIC_MAX * 4 / 3 + 4 ||
	    b64_decode(b64, plain, sizeof(plain), &len) < 0 ||
	    memchr(plain, '\0', len) != NULL ||
	    (colon = strchr(plain, ':')) == NULL) {
		deny(a, res, AUTH_UNAUTHORIZED, 0,
		    "malformed Basic credentials: expected base64 of "
		    "name:password");
		return NULL;
	}
	*colon = '\0';
	keyed = cache_key(a, header, key) == 0;
	if (keyed && (cr = cache_lookup(a, key, now)) != NULL) {
		OPENSSL_cleanse(plain, sizeof(plain));
		return cr;
	}
	cr = creds_find(&a->creds, plain);
	if (cr != NULL && cr->scheme == CRED_BASIC) {
		ok = cred_check_password(cr, colon + 1);
	} else {
		const struct cred *dummy = dummy_cred(a);

		if (dummy != NULL)
			(void)cred_check_password(dummy, colon + 1);
		ok = 0;
	}
	OPENSSL_cleanse(plain, sizeof(plain));
	if (!ok) {
		deny(a, res, AUTH_UNAUTHORIZED, 0,
		    "wrong user name or password");
		return NULL;
	}
	if (keyed)
		cache_store(a, key, cr->name, now);
	return cr;
}

/* At most cap-1 bytes of s's first n, control bytes as '?': a reason
 * quoting the request goes to the log and the HTTP body as one line. */
static const char *
printable(char *dst, size_t cap, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		dst[i] = s[i];
		if (ch < 0x20 || ch == 0x7f)
			dst[i] = '?';
	}
	dst[i] = '\0';
	return dst;
}

/* The credential the request presents, or NULL with res filled in. */
static const struct cred *
identify(struct auth *a, const struct auth_request *rq, struct auth_result *res)
{
	const char *h = rq->authorization, *arg;
	const struct cred *cr;
	char q[65];
	size_t n;

	if (a->trust_remote_user && rq->remote_user != NULL &&
	    *rq->remote_user != '\0') {
		if ((cr = creds_find(&a->creds, rq->remote_user)) == NULL)
			deny(a, res, AUTH_FORBIDDEN, 0,
			    "the web server's user '%s' has no credential "
			    "here (trust_remote_user)",
			    printable(q, sizeof(q), rq->remote_user,
				strlen(rq->remote_user)));
		return cr;
	}
	if (h == NULL || *h == '\0') {
		deny(a, res, AUTH_UNAUTHORIZED, 0,
		    "authentication required: send an Authorization header "
		    "(%s)",
		    (a->schemes & CONF_AUTH_BEARER) &&
			    (a->schemes & CONF_AUTH_BASIC)
			? "Bearer TOKEN or Basic"
			: (a->schemes & CONF_AUTH_BEARER) ? "Bearer TOKEN"
							  : "Basic");
		return NULL;
	}
	n = strcspn(h, " ");
	arg = h + n + strspn(h + n, " ");
	if (n == 6 && strncasecmp(h, "Bearer", 6) == 0 &&
	    (a->schemes & CONF_AUTH_BEARER)) {
		if ((cr = creds_match_bearer(&a->creds, arg)) == NULL ||
		    cr->scheme != CRED_BEARER)
			deny(a, res, AUTH_UNAUTHORIZED, 1,
			    "invalid token (unknown or revoked)");
		return cr;
	}
	if (n == 5 && strncasecmp(h, "Basic", 5) == 0 &&
	    (a->schemes & CONF_AUTH_BASIC))
		return check_basic(a, h, arg, res);
	deny(a, res, AUTH_UNAUTHORIZED, 0,
	    "authorization scheme '%s' is not accepted here; use %s",
	    printable(q, 33, h, n),
	    (a->schemes & CONF_AUTH_BEARER) && (a->schemes & CONF_AUTH_BASIC)
		? "Bearer or Basic"
		: (a->schemes & CONF_AUTH_BEARER) ? "Bearer"
						  : "Basic");
	return NULL;
}

/* "a, b, c" of cr's from patterns, cut to fit. */
static void
list_patterns(const struct cred *cr, char *buf, size_t len)
{
	struct outbuf ob;

	ob_init(&ob, buf, len);
	for (size_t i = 0; i < cr->nfrom; i++)
		ob_printf(&ob, "%s%s", i ? ", " : "", cr->from[i]);
}

static void
list_kinds(unsigned long kinds, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s",
	    (kinds & CONF_KIND_MESSAGE) ? "message" : "",
	    (kinds & CONF_KIND_MESSAGE) && (kinds & ~CONF_KIND_MESSAGE) ? ", "
									: "",
	    (kinds & CONF_KIND_PRESENCE) ? "presence" : "",
	    (kinds & CONF_KIND_PRESENCE) && (kinds & CONF_KIND_IQ) ? ", " : "",
	    (kinds & CONF_KIND_IQ) ? "iq" : "");
}

/* 1 (res says why) if cr has used up its rate. */
static int
over_rate(struct auth *a, const struct cred *cr, struct auth_result *res)
{
	struct rate_bucket *b = rate_table_get(&a->rates, cr->name);
	unsigned long wait;

	if (b == NULL) /* out of memory: the limit cannot be kept */
		wait = 1;
	else if ((wait = rate_take(b, cr->rate, loop_now(a->lp))) == 0)
		return 0;
	res->verdict = AUTH_THROTTLED;
	res->retry_after = wait;
	snprintf(res->text, sizeof(res->text),
	    "credential '%s' is limited to %lu/s (its --rate); "
	    "try again in %lu s",
	    cr->name, cr->rate, wait);
	return 1;
}

void
auth_check(
    struct auth *a, const struct auth_request *rq, struct auth_result *res)
{
	const struct cred *cr;
	char allowed[200];

	memset(res, 0, sizeof(*res));
	if (a->schemes == 0) {
		xr_strlcpy(res->name, "-", sizeof(res->name));
		return;
	}
	if (throttled(a, rq, res))
		return;
	refresh(a);
	if ((cr = identify(a, rq, res)) == NULL) {
		/* A missing header is a mistake, not a guess. */
		if (res->verdict == AUTH_UNAUTHORIZED &&
		    rq->authorization != NULL && *rq->authorization != '\0')
			strike(a, rq);
		return;
	}
	xr_strlcpy(res->name, cr->name, sizeof(res->name));
	if (cr->expires != 0 && cr->expires <= (int64_t)time(NULL)) {
		struct tm tm;
		time_t t = (time_t)cr->expires;
		char when[32] = "?";

		if (gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		deny(a, res, AUTH_UNAUTHORIZED, 1,
		    "credential '%s' expired at %s", cr->name, when);
		return;
	}
	if (!cred_allows_kind(cr, rq->kind)) {
		list_kinds(cr->kinds, allowed, sizeof(allowed));
		deny(a, res, AUTH_FORBIDDEN, 0,
		    "credential '%s' may not send %.16s stanzas (only %s)",
		    cr->name, rq->kind, allowed);
		return;
	}
	if (!cred_allows_from(cr, rq->from)) {
		list_patterns(cr, allowed, sizeof(allowed));
		deny(a, res, AUTH_FORBIDDEN, 0,
		    "credential '%s' may not send as '%.200s' (only as %s)",
		    cr->name, rq->from, allowed);
		return;
	}
	if (cr->rate != 0 && over_rate(a, cr, res))
		return;
	res->verdict = AUTH_OK;
}
