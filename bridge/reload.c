/*
 * The running modules keep a pointer to the one struct conf and read its
 * fields when they need them, so a reload is a swap of that struct's
 * contents.  The keys kept from the running configuration (the reload
 * column of conf.c's table) are moved, not copied, into the new one: their
 * strings may be held elsewhere (libstrophe has the JID and secret, the
 * listener the socket path).
 */
#include <stdio.h>

#include "log.h"
#include "outbuf.h"
#include "reload.h"
#include "secrets.h"

struct kept {
	char list[512];
	struct outbuf ob;
};

static void
note(struct kept *k, const char *name, const char *why)
{
	ob_printf(&k->ob, "%s%s%s", k->ob.len ? ", " : "", name, why);
}

/* Key i keeps its running value; a change is named with why after it. */
static void
keep(struct kept *k, struct conf *fresh, struct conf *live, size_t i,
    const char *why)
{
	if (!conf_key_same(fresh, live, i))
		note(k, conf_key_name(i), why);
	conf_key_move(fresh, live, i);
}

/* The log names the keys kept outright first, then those whose setting
 * or unsetting waits for a restart, each group in the table's order. */
static void
keep_running(struct kept *k, struct conf *fresh, struct conf *live)
{
	size_t i;

	for (i = 0; conf_key_name(i) != NULL; i++) {
		if (conf_key_reload(i) == CONF_RELOAD_KEEPS)
			keep(k, fresh, live, i, "");
	}
	for (i = 0; conf_key_name(i) != NULL; i++) {
		if (conf_key_reload(i) == CONF_RELOAD_KEEPS_SET &&
		    conf_key_is_set(fresh, i) != conf_key_is_set(live, i))
			keep(k, fresh, live, i, " (set or unset)");
	}
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
	keep_running(&k, &fresh, live);
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
