/*
 * The credentials command line: `token add|list|revoke` and
 * `password add|list|revoke`, each subcommand from its arguments to its
 * output.  Its options are read in token_args.c, the secrets made in
 * token_secret.c and the file changed in token_store.c.  A token is
 * shown once, on stdout, and only its SHA-256 is stored; a password is
 * stored as a yescrypt hash.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "conf.h"
#include "creds.h"
#include "token_cmd.h"
#include "token_priv.h"
#include "util.h"

void
token_say(const char *fmt, ...)
{
	va_list ap;

	fputs("xmpp-restd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
fmt_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}

/* Builds the entry; the secret (hash) comes from the caller. */
static void
fill_cred(struct cred *cr, enum cred_scheme scheme, struct token_opts *o)
{
	cr->scheme = scheme;
	cr->from = o->from;
	cr->nfrom = o->nfrom;
	o->from = NULL;
	o->nfrom = 0;
	cr->kinds = o->kinds
	    ? o->kinds
	    : CONF_KIND_MESSAGE | CONF_KIND_PRESENCE | CONF_KIND_IQ;
	cr->expires = o->expires;
	cr->rate = o->rate;
	cr->created = (int64_t)time(NULL);
}

static int
add_token(const struct conf *c, const char *name, struct token_opts *o)
{
	char token[TOKEN_LEN + 1], hex[CREDS_HASH_HEX + 1];
	struct cred cr;
	int rc = 1;

	memset(&cr, 0, sizeof(cr));
	if (token_make(token) < 0)
		return 1;
	if (creds_hash_token(token, strlen(token), hex) < 0) {
		token_say("SHA-256 failed");
		goto done;
	}
	fill_cred(&cr, CRED_BEARER, o);
	if ((cr.name = strdup(name)) == NULL ||
	    (cr.hash = strdup(hex)) == NULL) {
		token_say("out of memory");
		goto done;
	}
	if (token_commit_add(c, &cr) != 0)
		goto done;
	/* Written only now, once it is stored; a failed write means the
	 * token is lost, and the caller must know. */
	if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
		token_say("could not write the token to stdout (%s); revoke %s",
		    strerror(errno), name);
		goto done;
	}
	token_say("added bearer token %s to %s; only its hash is stored, so it "
		  "will not be shown again",
	    name, c->credentials_file);
	rc = 0;
done:
	OPENSSL_cleanse(token, sizeof(token));
	cred_clear(&cr);
	return rc;
}

static int
add_password(const struct conf *c, const char *name, struct token_opts *o)
{
	char pw[CREDS_PASSWORD_MAX + 1], again[CREDS_PASSWORD_MAX + 1];
	struct creds set;
	struct cred cr;
	int rc = 1;

	memset(&cr, 0, sizeof(cr));
	/* Checked before asking, not only under the lock after. */
	if (token_load(c, &set) < 0)
		return 1;
	if (token_exists(&set, name)) {
		creds_free(&set);
		return 1;
	}
	creds_free(&set);
	if (token_get_password(name, pw, again, sizeof(pw)) < 0)
		goto done;
	fill_cred(&cr, CRED_BASIC, o);
	if ((cr.name = strdup(name)) == NULL) {
		token_say("out of memory");
		goto done;
	}
	if ((cr.hash = token_hash_password(pw)) == NULL)
		goto done;
	if (token_commit_add(c, &cr) != 0)
		goto done;
	token_say("added basic credential %s to %s", name, c->credentials_file);
	rc = 0;
done:
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(again, sizeof(again));
	cred_clear(&cr);
	return rc;
}

static int
cmd_add(const struct conf *c, const char *cmd, int argc, char **argv)
{
	struct token_opts o;
	int rc;

	if (argc < 3)
		return token_usage(cmd);
	memset(&o, 0, sizeof(o));
	if (!creds_name_ok(argv[2])) {
		token_say(
		    "bad name '%.64s': use 1 to %d characters of A-Z a-z 0-9 "
		    ". _ -",
		    argv[2], CREDS_NAME_MAX);
		return 1;
	}
	if ((rc = token_opts_parse(c, cmd, argc - 3, argv + 3, &o)) != 0) {
		token_opts_free(&o);
		return rc;
	}
	if (strcmp(cmd, "token") == 0)
		rc = add_token(c, argv[2], &o);
	else
		rc = add_password(c, argv[2], &o);
	token_opts_free(&o);
	return rc;
}

static int
cmd_list(const struct conf *c)
{
	char err[XR_ERRLEN * 2];
	struct creds set;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if ((rc = creds_load(
		 c->credentials_file, c->jid, &set, err, sizeof(err))) < 0) {
		token_say("%s", err);
		return 1;
	}
	if (rc == 1)
		token_say("no credentials yet: %s does not exist",
		    c->credentials_file);
	rc = 0;
	for (size_t i = 0; i < set.n; i++) {
		const struct cred *cr = &set.v[i];
		static const char *const kinds[] = {
		    "message", "presence", "iq"};
		char exp[32] = "never", cre[32] = "-";
		const char *sep = "";

		printf("%s\t%s\t", cr->name,
		    cr->scheme == CRED_BEARER ? "bearer" : "basic");
		for (size_t j = 0; j < cr->nfrom; j++)
			printf("%s%s", j ? "," : "", cr->from[j]);
		if (cr->nfrom == 0)
			putchar('*');
		putchar('\t');
		for (size_t j = 0; j < 3; j++) {
			if (cr->kinds & (1UL << j)) {
				printf("%s%s", sep, kinds[j]);
				sep = ",";
			}
		}
		if (cr->expires != 0)
			fmt_time(cr->expires, exp, sizeof(exp));
		if (cr->created != 0)
			fmt_time(cr->created, cre, sizeof(cre));
		printf("\t%s%s\t%s\n", exp,
		    cred_expired(cr, now) ? " (expired)" : "", cre);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		token_say("writing to stdout: %s", strerror(errno));
		rc = 1;
	}
	creds_free(&set);
	return rc;
}

static int
cmd_revoke(const struct conf *c, const char *name)
{
	struct creds set;
	const struct cred *cr;
	const char *scheme;
	int lock, rc = 1;

	if ((lock = token_lock(c->credentials_file)) < 0)
		return 1;
	if (token_load(c, &set) < 0)
		goto done;
	if ((cr = creds_find(&set, name)) == NULL) {
		token_say("no credential named %.64s in %s", name,
		    c->credentials_file);
		goto done;
	}
	scheme = cr->scheme == CRED_BEARER ? "bearer" : "basic";
	creds_remove(&set, name);
	if (token_store(c, &set) < 0)
		goto done;
	token_say("revoked %s credential %s", scheme, name);
	rc = 0;
done:
	creds_free(&set);
	close(lock);
	return rc;
}

int
token_cmd(const struct conf *c, int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : "token";

	if (argc < 1 ||
	    (strcmp(cmd, "token") != 0 && strcmp(cmd, "password") != 0))
		return token_usage("token");
	if (argc < 2)
		return token_usage(cmd);
	if (c->credentials_file == NULL) {
		token_say("no credentials_file in the configuration");
		return 1;
	}
	if (strcmp(argv[1], "add") == 0)
		return cmd_add(c, cmd, argc, argv);
	if (strcmp(argv[1], "list") == 0)
		return argc == 2 ? cmd_list(c) : token_usage(cmd);
	if (strcmp(argv[1], "revoke") == 0)
		return argc == 3 ? cmd_revoke(c, argv[2]) : token_usage(cmd);
	token_say("unknown command '%.64s'", argv[1]);
	return token_usage(cmd);
}
