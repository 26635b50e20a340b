/*
 * A secret file holds the secret alone; one trailing newline (what every
 * editor and `echo` add) is not part of it.  What it holds then goes
 * through conf_set like an inline value, so that the table in conf.c
 * stays the one place that states each secret's limits.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privfile.h"
#include "privs.h"
#include "secrets.h"
#include "util.h"

struct pair {
	const char *key, *file_key;
	size_t file_off, line_off;
};

static const struct pair pairs[] = {
    {"secret", "secret_file", offsetof(struct conf, secret_file),
	offsetof(struct conf, secret_line)},
    {"callback_secret", "callback_secret_file",
	offsetof(struct conf, callback_secret_file),
	offsetof(struct conf, callback_secret_line)},
};

#define NPAIRS (sizeof(pairs) / sizeof(pairs[0]))

/* What the compiler may not drop as a dead store. */
static void
wipe(char *p, size_t n)
{
	volatile char *v = p;

	while (n-- > 0)
		*v++ = '\0';
}

static int
check_inline(const struct conf *c, const struct pair *pr, uid_t owner,
    const char *path, char *err, size_t errlen)
{
	unsigned long line =
	    *(const unsigned long *)(const void *)((const char *)c +
		pr->line_off);

	if (line == 0)
		return 0;
	if (!c->origin_known) {
		snprintf(err, errlen,
		    "%s:%lu: '%s' is in a file whose readers cannot be told; "
		    "put it in a file of its own and name that with %s",
		    path, line, pr->key, pr->file_key);
		return -1;
	}
	if (c->origin_mode & (S_IRGRP | S_IROTH)) {
		snprintf(err, errlen,
		    "%s:%lu: '%s' is in a file others can read (mode %04o); "
		    "put it in a file of its own and name that with %s",
		    path, line, pr->key, c->origin_mode, pr->file_key);
		return -1;
	}
	if (owner != PRIVFILE_ANY_OWNER && c->origin_uid != 0 &&
	    c->origin_uid != (unsigned long)owner) {
		snprintf(err, errlen,
		    "%s:%lu: '%s' is in a file of uid %lu, neither root nor "
		    "the bridge's user (uid %lu), who could open it up; put "
		    "it in a file of its own and name that with %s",
		    path, line, pr->key, c->origin_uid, (unsigned long)owner,
		    pr->file_key);
		return -1;
	}
	return 0;
}

/* Reads file (the value of pr->file_key) into pr->key. */
static int
read_secret(struct conf *c, const struct pair *pr, const char *file,
    uid_t owner, char *err, size_t errlen)
{
	char buf[SECRETS_FILE_MAX + 2], why[XR_ERRLEN];
	struct stat st;
	size_t len = 0;
	int fd, rc = -1;

	if ((fd = privfile_open(file, owner, &st, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "%s: %s", pr->file_key, why);
		return -1;
	}
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s: %s", pr->file_key, file,
			    strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > SECRETS_FILE_MAX) {
		snprintf(err, errlen, "%s: %s: longer than %d bytes",
		    pr->file_key, file, SECRETS_FILE_MAX);
		goto done;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	if (len == 0) {
		snprintf(err, errlen, "%s: %s is empty; put the %s in it",
		    pr->file_key, file, pr->key);
		goto done;
	}
	if (memchr(buf, '\0', len) != NULL || strpbrk(buf, "\r\n") != NULL) {
		snprintf(err, errlen,
		    "%s: %s holds more than the %s: a NUL byte or a second "
		    "line",
		    pr->file_key, file, pr->key);
		goto done;
	}
	if (conf_set(c, pr->key, buf, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s: %s", pr->file_key, file, why);
		goto done;
	}
	rc = 0;
done:
	wipe(buf, sizeof(buf));
	close(fd);
	return rc;
}

int
secrets_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	uid_t owner;

	if (privs_user_uid(c, &owner) < 0) {
		snprintf(
		    err, errlen, "%s: user: no user named '%s'", path, c->user);
		return -1;
	}
	/* Root without 'user' is refused before this at start, so this is
	 * `xmpp-restd -n` as root for a bridge that systemd's User= will
	 * name: whose files are whose is not known here. */
	if (owner == 0 && c->user == NULL)
		owner = PRIVFILE_ANY_OWNER;
	/* A secret in the open is reported before a missing file. */
	for (size_t i = 0; i < NPAIRS; i++) {
		if (check_inline(c, &pairs[i], owner, path, err, errlen) < 0)
			return -1;
	}
	for (size_t i = 0; i < NPAIRS; i++) {
		const struct pair *pr = &pairs[i];
		const char *file =
		    *(char *const *)(const void *)((const char *)c +
			pr->file_off);

		if (file != NULL &&
		    read_secret(c, pr, file, owner, err, errlen) < 0)
			return -1;
	}
	return 0;
}
