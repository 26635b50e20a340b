/*
 * Deciding who may submit what.  The responder passes the request's
 * Authorization header (and REMOTE_USER, REMOTE_ADDR); the bridge, which
 * alone can read the credentials file, decides.  The file is re-read
 * whenever it changes, so `xmpp-restd token add|revoke` act at once.
 */
#ifndef XR_AUTH_H
#define XR_AUTH_H

#include <stddef.h>

#include "conf.h"
#include "util.h"

enum auth_verdict {
	AUTH_OK,
	AUTH_UNAUTHORIZED, /* 401: no credentials, or wrong ones */
	AUTH_FORBIDDEN,    /* 403: known credential, not allowed this */
	AUTH_THROTTLED     /* 429: too many failures from this address */
};

struct auth_request {
	const char *authorization; /* the header's value, or NULL */
	const char *remote_user;   /* NULL unless the web server set it */
	const char *remote_addr;   /* NULL when unknown */
	const char *kind;          /* message, presence or iq */
	const char *from;          /* the stanza's from, always set */
};

struct auth_result {
	enum auth_verdict verdict;
	char text[XR_ERRLEN];      /* why, for the HTTP body */
	char challenge[256];       /* WWW-Authenticate values, one per line */
	unsigned long retry_after; /* s, with AUTH_THROTTLED */
	char name[72];             /* the credential used, for the log */
};

struct loop;
struct auth;

/*
 * Reads the credentials (unless auth is "none").  Refuses a file that
 * group or others may read, or that does not parse; a missing file is
 * allowed (every request is refused until a credential is added).  It
 * copies what it uses of c; NULL with err on failure.
 */
struct auth *auth_new(
    struct loop *lp, const struct conf *c, char *err, size_t errlen);
/* After a reload: the credentials file's path, trust_remote_user and the
 * failure limits (the schemes and the realm need a restart). */
void auth_reconfigure(struct auth *a, const struct conf *c);
/* NULL is a no-op. */
void auth_free(struct auth *a);

void auth_check(
    struct auth *a, const struct auth_request *rq, struct auth_result *res);

#endif
