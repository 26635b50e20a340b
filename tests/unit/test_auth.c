/*
 * Authentication and authorization (bridge/auth.c) over a real
 * credentials file in a temporary directory, with a fake clock: the
 * verdicts and their reasons, the failure window per address, a
 * credential's rate, and a file changed under the running bridge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "creds.h"
#include "log.h"
#include "loop.h"
#include "t.h"

#define JID "rest.example"
#define TOKEN "xr_test-token-0123456789abcdef"
#define LIMITED "xr_test-limited-0123456789abcd"

static int64_t mono_ms = 5000000;

static int64_t
fake_mono(void *ud)
{
	(void)ud;
	return mono_ms;
}

static char dir[64], path[96];

/* Writes a credentials file: tok (any stanza from the bridge's domain),
 * msg (messages only, 2 a second), then the extra lines. */
static int
write_creds(const char *file, const char *extra)
{
	char h1[CREDS_HASH_HEX + 1], h2[CREDS_HASH_HEX + 1];
	FILE *f;

	if (creds_hash_token(TOKEN, strlen(TOKEN), h1) < 0 ||
	    creds_hash_token(LIMITED, strlen(LIMITED), h2) < 0 ||
	    (f = fopen(file, "w")) == NULL)
		return -1;
	fprintf(f, "tok bearer %s\nmsg bearer %s kinds=message rate=2/s\n%s",
	    h1, h2, extra);
	if (fclose(f) != 0 || chmod(file, 0600) < 0)
		return -1;
	return 0;
}

static struct auth_result res;

static enum auth_verdict
check(struct auth *a, const char *authorization, const char *kind,
    const char *addr)
{
	struct auth_request rq = {authorization, NULL, addr, kind, JID};

	auth_check(a, &rq, &res);
	return res.verdict;
}

static void
test_verdicts(struct auth *a)
{
	T_EQ_INT(check(a, NULL, "message", "192.0.2.1"), AUTH_UNAUTHORIZED,
	    "no Authorization header: 401");
	T_HAS(res.text, "Bearer TOKEN or Basic", "naming the schemes accepted");
	T_HAS(res.challenge, "Bearer realm=\"" JID "\"",
	    "with a Bearer challenge for the bridge's domain");
	T_HAS(res.challenge, "Basic realm=", "and a Basic one");
	T_EQ_INT(check(a, "Bearer " TOKEN, "iq", "192.0.2.1"), AUTH_OK,
	    "the right token: allowed");
	T_EQ_STR(res.name, "tok", "under the credential's name");
	T_EQ_INT(check(a, "Bearer xr_nope", "iq", "192.0.2.1"),
	    AUTH_UNAUTHORIZED, "an unknown token: 401");
	T_HAS(res.challenge, "error=\"invalid_token\"",
	    "with invalid_token in the challenge");
	T_EQ_INT(check(a, "Digest abc", "iq", "192.0.2.1"), AUTH_UNAUTHORIZED,
	    "a scheme not accepted: 401");
	T_HAS(res.text, "'Digest' is not accepted", "naming it");
	T_EQ_INT(check(a, "Basic !!!", "iq", "192.0.2.1"), AUTH_UNAUTHORIZED,
	    "Basic that is not base64: 401");
	T_HAS(res.text, "malformed Basic", "saying so");
	T_EQ_INT(check(a, "Bearer " LIMITED, "presence", "192.0.2.1"),
	    AUTH_FORBIDDEN, "a kind the credential may not send: 403");
	T_HAS(res.text, "only message", "naming what it may send");
}

static void
test_failure_window(struct auth *a)
{
	int i;

	/* The earlier failures from 192.0.2.1 are out of the window. */
	mono_ms += 61 * 1000;
	for (i = 0; i < 10; i++)
		(void)check(a, "Bearer xr_wrong", "message", "2001:db8:1::1");
	T_EQ_INT(check(a, "Bearer " TOKEN, "message", "2001:db8:1::2"),
	    AUTH_THROTTLED,
	    "auth_fail_limit failures from a /64: even the right token "
	    "gets 429");
	T_OK(res.retry_after >= 1 && res.retry_after <= 60,
	    "with Retry-After within auth_fail_window");
	T_EQ_INT(check(a, "Bearer " TOKEN, "message", "2001:db8:2::1"), AUTH_OK,
	    "another /64 is not throttled");
	T_EQ_INT(check(a, NULL, "message", "203.0.113.9"), AUTH_UNAUTHORIZED,
	    "a missing header is no guess");
	for (i = 0; i < 20; i++)
		(void)check(a, NULL, "message", "203.0.113.9");
	T_EQ_INT(check(a, "Bearer " TOKEN, "message", "203.0.113.9"), AUTH_OK,
	    "so any number of them throttles nothing");
	mono_ms += 60 * 1000;
	T_EQ_INT(check(a, "Bearer " TOKEN, "message", "2001:db8:1::2"), AUTH_OK,
	    "once the window has passed, the /64 is let in again");
}

static void
test_rate(struct auth *a)
{
	mono_ms += 10 * 1000;
	T_EQ_INT(check(a, "Bearer " LIMITED, "message", "192.0.2.7"), AUTH_OK,
	    "rate=2/s: the first request passes");
	T_EQ_INT(check(a, "Bearer " LIMITED, "message", "192.0.2.7"), AUTH_OK,
	    "and the second");
	T_EQ_INT(check(a, "Bearer " LIMITED, "message", "192.0.2.7"),
	    AUTH_THROTTLED, "the third in the same instant: 429");
	T_EQ_INT(res.retry_after, 1, "with Retry-After 1");
	T_HAS(res.text, "limited to 2/s", "naming the rate");
	mono_ms += 1000;
	T_EQ_INT(check(a, "Bearer " LIMITED, "message", "192.0.2.7"), AUTH_OK,
	    "a second later it passes again");
}

/* The file is looked at once per turn of the loop. */
static void
next_turn(struct loop *lp)
{
	loop_run_once(lp, 0);
}

static void
test_file_changes(struct auth *a, struct loop *lp, struct conf *c)
{
	static char other[128];
	FILE *f;

	T_EQ_INT(write_creds(path, "new bearer 0000\n"), 0,
	    "the file is rewritten with a line that does not parse");
	next_turn(lp);
	T_EQ_INT(check(a, "Bearer " TOKEN, "iq", NULL), AUTH_OK,
	    "a file that does not parse changes nothing");
	if ((f = fopen(path, "w")) != NULL)
		fclose(f);
	next_turn(lp);
	T_EQ_INT(check(a, "Bearer " TOKEN, "iq", NULL), AUTH_UNAUTHORIZED,
	    "an emptied file: the token is revoked at once");
	snprintf(other, sizeof(other), "%s/other", dir);
	T_EQ_INT(write_creds(other, ""), 0, "another file is written");
	c->credentials_file = other;
	auth_reconfigure(a, c);
	c->credentials_file = path;
	next_turn(lp);
	T_EQ_INT(check(a, "Bearer " TOKEN, "iq", NULL), AUTH_OK,
	    "after a reload naming it, its credentials are the ones used");
	unlink(other);
}

static void
test_none(struct loop *lp, struct conf *c)
{
	char err[256];
	struct auth *a;

	c->auth = 0;
	a = auth_new(lp, c, err, sizeof(err));
	T_OK(a != NULL, "auth none starts without a credentials file");
	T_EQ_INT(check(a, NULL, "iq", NULL), AUTH_OK,
	    "auth none: everything is allowed");
	T_EQ_STR(res.name, "-", "under no credential's name");
	auth_free(a);
}

int
main(void)
{
	struct loop_clock clock = {fake_mono, NULL, NULL};
	struct loop *lp;
	struct auth *a;
	struct conf c;
	char err[256], jid[] = JID;
	int rc;

	log_init("test_auth", 0, LOG_LVL_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/test_auth.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/credentials", dir);
	memset(&c, 0, sizeof(c));
	c.jid = jid;
	c.credentials_file = path;
	c.auth = CONF_AUTH_BEARER | CONF_AUTH_BASIC;
	c.auth_fail_limit = 10;
	c.auth_fail_window = 60;
	if (write_creds(path, "") < 0 || (lp = loop_new(&clock)) == NULL)
		return 1;
	if ((a = auth_new(lp, &c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "auth_new: %s\n", err);
		return 1;
	}
	test_verdicts(a);
	test_failure_window(a);
	test_rate(a);
	test_file_changes(a, lp, &c);
	auth_free(a);
	test_none(lp, &c);
	loop_free(lp);
	unlink(path);
	rc = rmdir(dir);
	T_EQ_INT(rc, 0, "nothing is left in the temporary directory");
	return t_done();
}
