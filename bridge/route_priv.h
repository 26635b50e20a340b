/*
 * What route.c and route_links.c share: the route's parts, and the
 * adaptors (route_links.c) through which one part reaches another.
 * Each adaptor's userdata is the struct route.
 */
#ifndef XR_ROUTE_PRIV_H
#define XR_ROUTE_PRIV_H

#include <stdint.h>

#include "answer.h"
#include "conf.h"
#include "incoming.h"
#include "outgoing.h"

struct route {
	struct loop *lp;
	/* The running configuration: main changes it between turns of the
	 * loop only, and then calls route_reconfigure. */
	const struct conf *cf;
	const struct privs *pv;
	struct stray *sy;
	struct outgoing *out;
	struct incoming *in;
	struct xsess *xs;
	struct auth *au; /* made once privileges are dropped */
	struct listener *lis;
	struct wh_pool *whp; /* NULL without a callback_url */
	int64_t started_ms;
	struct answer_tally tally;
	int stopping; /* route_free: stanzas from the session are dropped */
};

/* The session and the answers, as the outgoing pipeline sees them. */
extern const struct out_link route_out_link;
/* The session, as incoming delivery sees it. */
extern const struct in_link route_in_link;
/* The webhook's pool, as incoming delivery sees it. */
extern const struct in_pool route_in_pool;

#endif
