/* Answers for ids this bridge never wrote (see stray.h). */
#include "stray.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

struct stray {
	/* FNV-1a hashes of the ids, not the ids: fixed memory, and a
	 * collision only hides one stray answer. */
	uint64_t ring[STRAY_RING];
	unsigned long ring_next;
	unsigned long strays;
	int64_t last_unix, last_warn_ms;
	int warned;
};

struct stray *
stray_new(void)
{
	return calloc(1, sizeof(struct stray));
}

void
stray_free(struct stray *sy)
{
	free(sy);
}

static uint64_t
id_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *id; id++) {
		h ^= (unsigned char)*id;
		h *= 1099511628211ULL;
	}
	return h ? h : 1; /* 0 marks an empty slot */
}

void
stray_sent(struct stray *sy, const char *id)
{
	if (id == NULL)
		return;
	sy->ring[sy->ring_next++ % STRAY_RING] = id_hash(id);
}

int
stray_was_sent(const struct stray *sy, const char *id)
{
	uint64_t h;

	if (id == NULL)
		return 0;
	h = id_hash(id);
	for (size_t i = 0; i < STRAY_RING; i++)
		if (sy->ring[i] == h)
			return 1;
	return 0;
}

void
stray_seen(struct stray *sy, const char *what, const char *id, const char *from,
    const char *domain)
{
	int64_t now = xr_now_ms();

	sy->strays++;
	sy->last_unix = (int64_t)time(NULL);
	if (sy->warned && now - sy->last_warn_ms < STRAY_WARN_INTERVAL_MS) {
		log_debug("%s for id %s from %s: never sent by this bridge",
		    what, id ? id : "-", from ? from : "?");
		return;
	}
	sy->warned = 1;
	sy->last_warn_ms = now;
	log_warnx("%s for id %s from %s, which this bridge never sent: "
		  "another bridge is probably connected to the XMPP server "
		  "for %s, and the server splits the stanzas between them "
		  "(ejabberd does), so some requests of each will time out; "
		  "stop the other one (%lu such answers so far)",
	    what, id ? id : "-", from ? from : "?", domain, sy->strays);
}

unsigned long
stray_count(const struct stray *sy)
{
	return sy->strays;
}

int64_t
stray_last_unix(const struct stray *sy)
{
	return sy->last_unix;
}
