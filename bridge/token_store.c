/*
 * Changing the credentials file from the command line.  A change is a
 * read-modify-write of the whole file under an exclusive flock on
 * "PATH.lock", so two commands never lose each other's entry.  The new
 * file is written beside the old one, synced, then renamed over it: the
 * bridge, which re-reads the file when it changes, sees the old file or
 * the new one, never half of one.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "creds.h"
#include "token_priv.h"
#include "util.h"

/* path + suffix, malloc'd; NULL (said) when out of memory. */
static char *
path_with(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 1;
	char *p = malloc(n);

	if (p == NULL)
		token_say("out of memory");
	else
		snprintf(p, n, "%s%s", path, suffix);
	return p;
}

int
token_lock(const char *path)
{
	char *lpath = path_with(path, ".lock");
	int fd;

	if (lpath == NULL)
		return -1;
	fd = open(lpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		token_say("%s: %s", lpath, strerror(errno));
		free(lpath);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			token_say("locking %s: %s", lpath, strerror(errno));
			close(fd);
			free(lpath);
			return -1;
		}
	}
	free(lpath);
	return fd;
}

/* Run as root: the new file goes to the account the daemon drops to. */
static int
give_to_user(const struct conf *c, int fd, const char *tmp)
{
	struct passwd *pw;
	struct group *gr;
	gid_t gid;

	if (geteuid() != 0 || c->user == NULL)
		return 0;
	if ((pw = getpwnam(c->user)) == NULL) {
		token_say(
		    "unknown user '%s' (user in the configuration)", c->user);
		return -1;
	}
	gid = pw->pw_gid;
	if (c->group != NULL) {
		if ((gr = getgrnam(c->group)) == NULL) {
			token_say(
			    "unknown group '%s' (group in the configuration)",
			    c->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (fchown(fd, pw->pw_uid, gid) < 0) {
		token_say("chown %s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* Makes the rename durable.  The change is made already, so a failure
 * is only a warning. */
static void
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (fsync(fd) < 0 && errno != EINVAL))
		token_say("warning: syncing %s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
}

/*
 * set in the file format (malloc'd), once it is known to read back: the
 * bridge must never be handed a file it refuses (a line too long for
 * CREDS_LINE_MAX, say, after many --from patterns).
 */
static char *
serialize(const struct conf *c, const struct creds *set, size_t *len)
{
	char err[XR_ERRLEN];
	struct creds again;
	char *text = NULL;
	FILE *fp = open_memstream(&text, len);

	if (fp == NULL || creds_write(set, fp) < 0 || fclose(fp) != 0) {
		token_say("out of memory");
		free(text);
		return NULL;
	}
	if (creds_parse(text, *len, c->jid, &again, err, sizeof(err)) < 0 ||
	    again.n != set->n) {
		token_say("the new file would not read back (line %s); nothing "
			  "changed",
		    err);
		creds_free(&again);
		free(text);
		return NULL;
	}
	creds_free(&again);
	return text;
}

int
token_store(const struct conf *c, const struct creds *set)
{
	const char *path = c->credentials_file;
	char *tmp, *text;
	size_t len = 0;
	int fd;

	if ((text = serialize(c, set, &len)) == NULL)
		return -1;
	if ((tmp = path_with(path, ".XXXXXX")) == NULL) {
		free(text);
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		token_say("%s: %s", tmp, strerror(errno));
		free(tmp);
		free(text);
		return -1;
	}
	if (fchmod(fd, 0600) < 0) {
		token_say("chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (give_to_user(c, fd, tmp) < 0)
		goto fail;
	if (xr_write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		token_say("writing %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		token_say("writing %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		token_say("rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	free(tmp);
	free(text);
	sync_dir(path);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	free(text);
	return -1;
}

int
token_load(const struct conf *c, struct creds *set)
{
	char err[XR_ERRLEN * 2];

	if (creds_load(c->credentials_file, c->jid, set, err, sizeof(err)) <
	    0) {
		token_say("%s", err);
		return -1;
	}
	return 0;
}

int
token_exists(const struct creds *set, const char *name)
{
	if (creds_find(set, name) == NULL)
		return 0;
	token_say("a credential named %s exists; revoke it first", name);
	return 1;
}

int
token_commit_add(const struct conf *c, struct cred *cr)
{
	struct creds set;
	int lock, rc = 1;

	if ((lock = token_lock(c->credentials_file)) < 0)
		return 1;
	if (token_load(c, &set) < 0)
		goto done;
	if (token_exists(&set, cr->name))
		goto done;
	if (creds_append(&set, cr) < 0) {
		token_say("out of memory");
		goto done;
	}
	if (token_store(c, &set) == 0)
		rc = 0;
done:
	creds_free(&set);
	close(lock);
	return rc;
}
