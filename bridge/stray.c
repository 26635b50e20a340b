/* Answers for ids this bridge never wrote (see stray.h). */
#include "stray.h"

#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

/* FNV-1a hashes of the ids, not the ids: fixed memory, and a collision
 * only hides one stray answer. */
static uint64_t ring[STRAY_RING];
static unsigned long ring_next;
static unsigned long strays;
static int64_t last_unix, last_warn_ms;
static int warned;

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
stray_sent(const char *id)
{
	if (id == NULL)
		return;
	ring[ring_next++ % STRAY_RING] = id_hash(id);
}

int
stray_was_sent(const char *id)
{
	uint64_t h;

	if (id == NULL)
		return 0;
	h = id_hash(id);
	for (size_t i = 0; i < STRAY_RING; i++)
		if (ring[i] == h)
			return 1;
	return 0;
}

void
stray_seen(
    const char *what, const char *id, const char *from, const char *domain)
{
	int64_t now = xr_now_ms();

	strays++;
	last_unix = (int64_t)time(NULL);
	if (warned && now - last_warn_ms < STRAY_WARN_INTERVAL_MS) {
		log_debug("%s for id %s from %s: never sent by this bridge",
		    what, id ? id : "-", from ? from : "?");
		return;
	}
	warned = 1;
	last_warn_ms = now;
	log_warnx("%s for id %s from %s, which this bridge never sent: "
		  "another bridge is probably connected to the XMPP server "
		  "for %s, and the server splits the stanzas between them "
		  "(ejabberd does), so some requests of each will time out; "
		  "stop the other one (%lu such answers so far)",
	    what, id ? id : "-", from ? from : "?", domain, strays);
}

unsigned long
stray_count(void)
{
	return strays;
}

int64_t
stray_last_unix(void)
{
	return last_unix;
}
