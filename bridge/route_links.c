/*
 * The adaptors of route_priv.h: the session (xmpp.c), the webhook's pool
 * (webhook.c) and the answers (answer.c) behind the interfaces that the
 * outgoing pipeline and incoming delivery are written against, so that
 * neither knows the others.
 */
#include "route_priv.h"
#include "webhook.h"
#include "xmpp.h"

/* Every answer to a responder (admission's and the pipeline's). */
static void
send_answer(struct client *cl, uint32_t seq, const struct answer *a, void *ud)
{
	struct route *rt = ud;

	answer_send(cl, seq, a, &rt->tally);
}

static int
link_is_up(void *ud)
{
	struct route *rt = ud;

	return xsess_is_up(rt->xs);
}

static const char *
link_down_reason(void *ud)
{
	struct route *rt = ud;

	return xsess_down_reason(rt->xs);
}

static int
link_write(const char *xml, size_t len, void *ud)
{
	struct route *rt = ud;

	return xsess_send_raw(rt->xs, xml, len);
}

static int
link_write_alone(const char *xml, size_t len, void *ud)
{
	struct route *rt = ud;

	return xsess_send_raw_alone(rt->xs, xml, len);
}

static void
link_reconnect(void *ud)
{
	struct route *rt = ud;

	xsess_reconnect(rt->xs);
}

static int
link_send(xmpp_stanza_t *st, void *ud)
{
	struct route *rt = ud;

	return xsess_send(rt->xs, st);
}

static xmpp_ctx_t *
link_ctx(void *ud)
{
	struct route *rt = ud;

	return xsess_ctx(rt->xs);
}

static int
pool_submit(const char *url, const char *id, char *body, size_t len, void *job,
    void *ud)
{
	struct route *rt = ud;

	return wh_submit(rt->whp, url, id, body, len, job);
}

static unsigned long
pool_inflight(void *ud)
{
	struct route *rt = ud;

	return wh_inflight(rt->whp);
}

static unsigned long
pool_queued(void *ud)
{
	struct route *rt = ud;

	return wh_queued(rt->whp);
}

const struct out_link route_out_link = {link_is_up, link_down_reason,
    link_write, link_write_alone, link_reconnect, send_answer};
const struct in_link route_in_link = {link_is_up, link_send, link_ctx};
const struct in_pool route_in_pool = {pool_submit, pool_inflight, pool_queued};
