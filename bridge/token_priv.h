/*
 * What the files of the credentials command line (token_cmd.c,
 * token_args.c, token_secret.c, token_store.c) share and nobody else
 * uses.  Every function that can fail says why on stderr itself ("said").
 */
#ifndef XR_TOKEN_PRIV_H
#define XR_TOKEN_PRIV_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct cred;
struct creds;

#define TOKEN_PREFIX "xr_"
#define TOKEN_BYTES 32 /* 256 bits from the CSPRNG */
#define TOKEN_LEN (sizeof(TOKEN_PREFIX) - 1 + (TOKEN_BYTES * 4 + 2) / 3)

/* What the add subcommands take besides the name. */
struct token_opts {
	char **from;
	size_t nfrom;
	unsigned long kinds; /* 0: not given */
	int64_t expires;     /* 0: not given */
	unsigned long rate;  /* submits per second; 0: not given */
};

/* token_cmd.c: "xmpp-restd: " and the message on stderr. */
void token_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* token_args.c */

/* The synopsis of cmd ("token" or "password") on stderr; returns 2. */
int token_usage(const char *cmd);

void token_opts_free(struct token_opts *o);

/* The options after NAME: 0, 1 (bad value, said) or 2 (usage, said). */
int token_opts_parse(const struct conf *c, const char *cmd, int argc,
    char **argv, struct token_opts *o);

/* token_secret.c */

/* The password from stdin: twice, unechoed, from a terminal; else the
 * first line.  0, or -1 (said). */
int token_get_password(const char *name, char *pw, char *again, size_t size);

/* A yescrypt hash of pw at libxcrypt's default cost (malloc'd), or NULL
 * (said). */
char *token_hash_password(const char *pw);

/* "xr_" and 256 random bits; 0, or -1 (said). */
int token_make(char token[TOKEN_LEN + 1]);

/* token_store.c */

/* An exclusive lock on PATH.lock, held until the fd is closed; -1 (said). */
int token_lock(const char *path);

/* Reads the file (missing is empty): 0, or -1 (said). */
int token_load(const struct conf *c, struct creds *set);

/* Replaces the file with set: written aside, synced, renamed over it.
 * 0, or -1 (said). */
int token_store(const struct conf *c, const struct creds *set);

/* 1 (said) if set has a credential called name, else 0. */
int token_exists(const struct creds *set, const char *name);

/* Adds cr (taking its strings) under the lock: 0, or 1 (said). */
int token_commit_add(const struct conf *c, struct cred *cr);

#endif
