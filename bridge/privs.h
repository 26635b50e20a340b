/*
 * Who the bridge runs as and who may talk to it: the account it drops to
 * when started as root, the group and directory of its socket, and the
 * SO_PEERCRED check of each responder against allow_uids/allow_gids.
 */
#ifndef XR_PRIVS_H
#define XR_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"

#define PRIVS_IDS_MAX 64

struct privs {
	int drop;  /* started as root: become uid/gid after binding */
	uid_t uid; /* who the daemon is once running */
	gid_t gid;
	char user[64];  /* for messages and initgroups() */
	gid_t sock_gid; /* group of the socket and its directory */
	uid_t allow_uid[PRIVS_IDS_MAX];
	size_t nallow_uid;
	gid_t allow_gid[PRIVS_IDS_MAX];
	size_t nallow_gid;
};

/*
 * Resolves user, group, socket_group, allow_uids and allow_gids.  Refuses
 * root without a user to drop to.  0, or -1 with a reason in err.
 */
int privs_resolve(
    const struct conf *c, struct privs *p, char *err, size_t errlen);

/*
 * Makes sure the socket's directory exists, belongs to the daemon (or to
 * root) and is writable by nobody else, creating it mode 0750 with the
 * socket's group when missing.
 */
int privs_socket_dir(
    const struct privs *p, const char *socket_path, char *err, size_t errlen);

/* The uid the bridge runs as once started: that of 'user' if set, else
 * the running one.  0, or -1 if 'user' names nobody. */
int privs_user_uid(const struct conf *c, uid_t *uid);

/* Gives the bound socket to the daemon's user and the socket group. */
int privs_own_socket(
    const struct privs *p, const char *socket_path, char *err, size_t errlen);

/* Becomes p's user and group for good (no-op unless p->drop). */
int privs_drop(const struct privs *p, char *err, size_t errlen);

/* 0 if the peer of fd may use the bridge, else -1 with why. */
int privs_check_peer(const struct privs *p, int fd, char *why, size_t whylen);

#endif
