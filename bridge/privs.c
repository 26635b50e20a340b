/*
 * Privileges.  The order in main() is: resolve every name while NSS is
 * still reachable, prepare the socket's directory, bind, give the socket
 * away, drop to the configured account, and only then read credentials,
 * so that a file the daemon's user cannot read fails at start, not at
 * the first reload.
 */
/* SO_PEERCRED and struct ucred are Linux extensions. */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privs.h"
#include "util.h"

/* A user or group given by name or number; -1 if there is none. */
static int
lookup_id(const char *s, int is_group, unsigned long *id, gid_t *pw_gid)
{
	unsigned long long n;

	if (xr_parse_uint(s, 0, 0x7fffffffULL, &n) == 0) {
		*id = (unsigned long)n;
		if (pw_gid != NULL) {
			const struct passwd *pw = getpwuid((uid_t)n);

			*pw_gid = pw ? pw->pw_gid : (gid_t)n;
		}
		return 0;
	}
	if (is_group) {
		const struct group *gr = getgrnam(s);

		if (gr == NULL)
			return -1;
		*id = gr->gr_gid;
		return 0;
	}
	{
		const struct passwd *pw = getpwnam(s);

		if (pw == NULL)
			return -1;
		*id = pw->pw_uid;
		if (pw_gid != NULL)
			*pw_gid = pw->pw_gid;
	}
	return 0;
}

/* Parses "a, b c" (names or numbers) of key into ids[]. */
static int
id_list(const char *key, const char *v, int is_group, unsigned long *ids,
    size_t *n, char *err, size_t errlen)
{
	char item[256];
	const char *p = v;

	*n = 0;
	while (*p) {
		size_t len = strcspn(p, ", \t");

		if (len > 0) {
			if (*n == PRIVS_IDS_MAX) {
				snprintf(err, errlen, "%s: more than %d items",
				    key, PRIVS_IDS_MAX);
				return -1;
			}
			if (len >= sizeof(item)) {
				snprintf(err, errlen, "%s: item too long", key);
				return -1;
			}
			memcpy(item, p, len);
			item[len] = '\0';
			if (lookup_id(item, is_group, &ids[*n], NULL) < 0) {
				snprintf(err, errlen, "%s: no %s named '%s'",
				    key, is_group ? "group" : "user", item);
				return -1;
			}
			(*n)++;
		}
		p += len;
		p += strspn(p, ", \t");
	}
	return 0;
}

/* The account named by user: whether the bridge must drop to it, and
 * its uid and primary group. */
static int
resolve_user(const struct conf *c, struct privs *p, char *err, size_t errlen)
{
	unsigned long id;
	gid_t pw_gid = getegid();

	if (lookup_id(c->user, 0, &id, &pw_gid) < 0) {
		snprintf(err, errlen, "user: no user named '%s'", c->user);
		return -1;
	}
	if (id == 0) {
		snprintf(err, errlen,
		    "user: '%s' is root; name an unprivileged account",
		    c->user);
		return -1;
	}
	if (p->uid != 0 && id != p->uid) {
		snprintf(err, errlen,
		    "user is '%s' but the bridge runs as uid %lu and "
		    "cannot switch; start it as root or as that user",
		    c->user, (unsigned long)p->uid);
		return -1;
	}
	p->drop = p->uid == 0;
	p->uid = (uid_t)id;
	p->gid = pw_gid;
	xr_strlcpy(p->user, c->user, sizeof(p->user));
	return 0;
}

/* The peers allowed on the socket by uid and by gid. */
static int
resolve_allowed(const struct conf *c, struct privs *p, char *err, size_t errlen)
{
	unsigned long ids[PRIVS_IDS_MAX];

	if (c->allow_uids != NULL) {
		if (id_list("allow_uids", c->allow_uids, 0, ids, &p->nallow_uid,
			err, errlen) < 0)
			return -1;
		for (size_t i = 0; i < p->nallow_uid; i++)
			p->allow_uid[i] = (uid_t)ids[i];
	}
	if (c->allow_gids != NULL) {
		if (id_list("allow_gids", c->allow_gids, 1, ids, &p->nallow_gid,
			err, errlen) < 0)
			return -1;
		for (size_t i = 0; i < p->nallow_gid; i++)
			p->allow_gid[i] = (gid_t)ids[i];
	}
	return 0;
}

int
privs_resolve(const struct conf *c, struct privs *p, char *err, size_t errlen)
{
	unsigned long id;

	memset(p, 0, sizeof(*p));
	p->uid = geteuid();
	p->gid = getegid();
	if (p->uid == 0 && c->user == NULL) {
		snprintf(err, errlen,
		    "refusing to run as root: set 'user' (and optionally "
		    "'group') to an account for the bridge to drop to");
		return -1;
	}
	if (c->user != NULL && resolve_user(c, p, err, errlen) < 0)
		return -1;
	if (c->group != NULL) {
		if (lookup_id(c->group, 1, &id, NULL) < 0) {
			snprintf(err, errlen, "group: no group named '%s'",
			    c->group);
			return -1;
		}
		if (!p->drop && id != p->gid) {
			snprintf(err, errlen,
			    "group is '%s' but only root can change the "
			    "bridge's group",
			    c->group);
			return -1;
		}
		p->gid = (gid_t)id;
	}
	p->sock_gid = p->gid;
	if (c->socket_group != NULL) {
		if (lookup_id(c->socket_group, 1, &id, NULL) < 0) {
			snprintf(err, errlen,
			    "socket_group: no group named '%s'",
			    c->socket_group);
			return -1;
		}
		p->sock_gid = (gid_t)id;
	}
	return resolve_allowed(c, p, err, errlen);
}

/*
 * mkdir() applied the umask; the group must get in.  By descriptor, and
 * the directory opened without following a symlink, because whoever may
 * write its parent could swap it for a link between mkdir and chown.
 */
static int
own_new_dir(const struct privs *p, const char *dir, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || (geteuid() == 0 && fchown(fd, p->uid, p->sock_gid) < 0) ||
	    fchmod(fd, 0750) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int
privs_user_uid(const struct conf *c, uid_t *uid)
{
	unsigned long id;

	if (c->user == NULL) {
		*uid = geteuid();
		return 0;
	}
	if (lookup_id(c->user, 0, &id, NULL) < 0)
		return -1;
	*uid = (uid_t)id;
	return 0;
}

int
privs_socket_dir(
    const struct privs *p, const char *socket_path, char *err, size_t errlen)
{
	char dir[4096];
	char *slash;
	struct stat st;

	if (xr_strlcpy(dir, socket_path, sizeof(dir)) >= sizeof(dir)) {
		snprintf(err, errlen, "socket path too long");
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		xr_strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (lstat(dir, &st) < 0 && errno == ENOENT) {
		if (mkdir(dir, 0750) < 0) {
			snprintf(err, errlen, "creating %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		return own_new_dir(p, dir, err, errlen);
	}
	if (lstat(dir, &st) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
		    "%s (the socket's directory) is not a "
		    "directory",
		    dir);
		return -1;
	}
	if (st.st_uid != p->uid && st.st_uid != 0) {
		snprintf(err, errlen,
		    "%s (the socket's directory) belongs to uid %lu, neither "
		    "the bridge's user nor root",
		    dir, (unsigned long)st.st_uid);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
		    "%s (the socket's directory) is writable by group or "
		    "others (mode %04o), who could replace the socket; give "
		    "the socket a directory of its own",
		    dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/*
 * fchown() on a socket changes the socket, not its file, so the file is
 * given away by name, relative to its directory opened once, without
 * following a symlink: one put there by the daemon's user (who may own
 * the directory) is not followed to a file root would then hand over.
 */
static int
chown_socket(const char *path, uid_t owner, gid_t group)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	struct stat st;
	int dfd, rc = -1;

	if (slash == NULL)
		xr_strlcpy(dir, ".", sizeof(dir));
	else if (slash == path)
		xr_strlcpy(dir, "/", sizeof(dir));
	else if ((size_t)(slash - path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode))
			errno = EINVAL; /* replaced since bind() */
		else
			rc = fchownat(
			    dfd, base, owner, group, AT_SYMLINK_NOFOLLOW);
	}
	close(dfd);
	return rc;
}

int
privs_own_socket(
    const struct privs *p, const char *socket_path, char *err, size_t errlen)
{
	uid_t owner = p->drop ? p->uid : (uid_t)-1;

	if (owner == (uid_t)-1 && p->sock_gid == getegid())
		return 0;
	if (chown_socket(socket_path, owner, p->sock_gid) < 0) {
		snprintf(err, errlen, "giving %s to group %lu: %s", socket_path,
		    (unsigned long)p->sock_gid, strerror(errno));
		return -1;
	}
	return 0;
}

int
privs_drop(const struct privs *p, char *err, size_t errlen)
{
	if (!p->drop)
		return 0;
	if (setgroups(1, &p->gid) < 0 || setgid(p->gid) < 0 ||
	    setuid(p->uid) < 0) {
		snprintf(err, errlen, "dropping to %s (uid %lu, gid %lu): %s",
		    p->user, (unsigned long)p->uid, (unsigned long)p->gid,
		    strerror(errno));
		return -1;
	}
	/* A drop that can be undone is no drop at all. */
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(err, errlen, "could regain root after dropping to %s",
		    p->user);
		return -1;
	}
	return 0;
}

int
privs_check_peer(const struct privs *p, int fd, char *why, size_t whylen)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (p->nallow_uid == 0 && p->nallow_gid == 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		snprintf(why, whylen, "cannot tell who the responder is: %s",
		    strerror(errno));
		return -1;
	}
	/* Root and the bridge's own user may always ask (xmpp-restd -n). */
	if (uc.uid == 0 || uc.uid == p->uid)
		return 0;
	for (size_t i = 0; i < p->nallow_uid; i++) {
		if (p->allow_uid[i] == uc.uid)
			return 0;
	}
	for (size_t i = 0; i < p->nallow_gid; i++) {
		if (p->allow_gid[i] == uc.gid)
			return 0;
	}
	snprintf(why, whylen,
	    "the bridge does not serve responders running as uid %lu "
	    "gid %lu (allow_uids/allow_gids)",
	    (unsigned long)uc.uid, (unsigned long)uc.gid);
	return -1;
}
