/*
 * The running modules keep a pointer to the one struct conf and read its
 * fields when they need them, so a reload is a swap of that struct's
 * contents.  The keys kept from the running configuration are moved, not
 * copied, into the new one: their strings may be held elsewhere (libstrophe
 * has the JID and secret, the listener the socket path).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outbuf.h"
#include "reload.h"
#include "secrets.h"

struct kept {
	char list[512];
	struct outbuf ob;
};

static void
note(struct kept *k, const char *name)
{
	ob_printf(&k->ob, "%s%s", k->ob.len ? ", " : "", name);
}

static void
keep_str(struct kept *k, const char *name, char **fresh, char **live)
{
	int same = (*fresh == NULL && *live == NULL) ||
	    (*fresh != NULL && *live != NULL && strcmp(*fresh, *live) == 0);

	if (!same)
		note(k, name);
	free(*fresh);
	*fresh = *live;
	*live = NULL;
}

static void
keep_num(struct kept *k, const char *name, unsigned long *fresh,
    const unsigned long *live)
{
	if (*fresh != *live)
		note(k, name);
	*fresh = *live;
}

int
conf_reload(struct conf *live, const char *path, char *err, size_t errlen)
{
	struct conf fresh;
	struct kept k;

	ob_init(&k.ob, k.list, sizeof(k.list));
	if (conf_defaults(&fresh) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (conf_load(&fresh, path, err, errlen) < 0 ||
	    conf_check_bridge(&fresh, path, err, errlen) < 0 ||
	    secrets_load(&fresh, path, err, errlen) < 0) {
		conf_free(&fresh);
		return -1;
	}
	keep_str(&k, "jid", &fresh.jid, &live->jid);
	keep_str(&k, "server", &fresh.server, &live->server);
	keep_num(&k, "port", &fresh.port, &live->port);
	keep_str(&k, "secret", &fresh.secret, &live->secret);
	keep_str(&k, "socket", &fresh.socket, &live->socket);
	keep_num(&k, "max_clients", &fresh.max_clients, &live->max_clients);
	keep_num(&k, "client_idle_timeout", &fresh.client_idle_timeout,
	    &live->client_idle_timeout);
	keep_num(
	    &k, "max_pipelined", &fresh.max_pipelined, &live->max_pipelined);
	keep_str(&k, "user", &fresh.user, &live->user);
	keep_str(&k, "group", &fresh.group, &live->group);
	keep_str(&k, "socket_group", &fresh.socket_group, &live->socket_group);
	keep_str(&k, "allow_uids", &fresh.allow_uids, &live->allow_uids);
	keep_str(&k, "allow_gids", &fresh.allow_gids, &live->allow_gids);
	keep_str(&k, "spool_dir", &fresh.spool_dir, &live->spool_dir);
	keep_num(&k, "spool_max_bytes", &fresh.spool_max_bytes,
	    &live->spool_max_bytes);
	keep_num(&k, "auth", &fresh.auth, &live->auth);
	/* The webhook's machinery exists only if it was set at start. */
	if ((fresh.callback_url == NULL) != (live->callback_url == NULL))
		keep_str(&k, "callback_url (set or unset)", &fresh.callback_url,
		    &live->callback_url);
	conf_free(live);
	*live = fresh;
	log_init(
	    "xmpp-restd", live->log_syslog, (enum log_level)live->log_level);
	if (k.ob.len > 0)
		log_warnx("%s reloaded; these keep their running values until "
			  "a restart: %s",
		    path, k.list);
	else
		log_info("%s reloaded", path);
	return 0;
}
