/*
 * Wiring (route.h).  A frame from a responder is checked (claim.c), its
 * sender's credentials too (auth.c), and handed to the outgoing pipeline
 * (outgoing.c), which writes it to the session (xmpp.c) and answers it.
 * A stanza from the session is offered to the pipeline first (an ack, a
 * reply, a receipt, a bounce) and otherwise goes to incoming delivery
 * (incoming.c), which hands it to the webhook's workers (webhook.c).
 * Every answer to a responder goes out through answer.c, which counts it
 * for the status report (status.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "admit.h"
#include "answer.h"
#include "incoming.h"
#include "listener.h"
#include "loop.h"
#include "outgoing.h"
#include "privs.h"
#include "route.h"
#include "stanza.h"
#include "status.h"
#include "stray.h"
#include "util.h"
#include "webhook.h"
#include "xmpp.h"

static struct loop *lp;
static const struct conf *cf;
static const struct privs *pv;
static struct outgoing *out;
static struct incoming *in;
static struct listener *lis;
static struct wh_pool *whp; /* NULL without a callback_url */
static int64_t started_ms;

/* Every answer to a responder (admission's and the pipeline's). */
static void
send_answer(struct client *cl, uint32_t seq, const struct answer *a, void *ud)
{
	(void)ud;
	answer_send(cl, seq, a);
}

static void
answer_status(struct client *cl, uint32_t seq)
{
	static const struct answer oom = {.outcome = OUTCOME_BUSY,
	    .condition = "resource-constraint",
	    .text = "bridge out of memory"};
	struct status_report r = {0};
	char *doc;
	size_t len = 0;

	r.uptime_s = (xr_now_ms() - started_ms) / 1000;
	r.jid = cf->jid;
	r.up = xsess_is_up();
	r.down_reason = r.up ? "" : xsess_down_reason();
	out_stats(out, &r.out);
	r.stray_answers = stray_count();
	r.stray_last_seen = stray_last_unix();
	r.queue_max = cf->queue_max;
	r.responders = listener_nclients(lis);
	r.webhook = cf->callback_url != NULL;
	in_stats(in, &r.in);
	r.answered = answer_counts();
	/* Not counted among the answers it reports. */
	if ((doc = status_json(&r, &len)) == NULL)
		answer_send(cl, seq, &oom);
	else
		answer_send_uncounted(cl, seq,
		    &(struct answer){.outcome = OUTCOME_REPLY, .text = doc});
	free(doc);
}

/* ---- responders to XMPP ---- */

static int
on_accept(int fd, char *why, size_t whylen, void *ud)
{
	(void)ud;
	return privs_check_peer(pv, fd, why, whylen);
}

static void
on_frame(struct client *cl, const struct frame *f, void *ud)
{
	struct out_request rq;
	struct stanza st;

	(void)ud;
	if (f->type == FRAME_STATUS) {
		answer_status(cl, f->seq);
		return;
	}
	if (admit(cf, cl, f, &rq, &st, send_answer, NULL) < 0)
		return;
	out_submit(out, &rq);
	stanza_free(&st);
}

static void
on_close(struct client *cl, void *ud)
{
	(void)ud;
	out_drop_client(out, cl);
}

/* ---- the session, as the pipeline and delivery see it ---- */

static int
link_is_up(void *ud)
{
	(void)ud;
	return xsess_is_up();
}

static const char *
link_down_reason(void *ud)
{
	(void)ud;
	return xsess_down_reason();
}

static int
link_write(const char *xml, size_t len, void *ud)
{
	(void)ud;
	return xsess_send_raw(xml, len);
}

static int
link_write_alone(const char *xml, size_t len, void *ud)
{
	(void)ud;
	return xsess_send_raw_alone(xml, len);
}

static void
link_reconnect(void *ud)
{
	(void)ud;
	xsess_reconnect();
}

static int
link_send(xmpp_stanza_t *st, void *ud)
{
	(void)ud;
	return xsess_send(st);
}

static xmpp_ctx_t *
link_ctx(void *ud)
{
	(void)ud;
	return xsess_ctx();
}

static int
pool_submit(const char *url, const char *id, char *body, size_t len, void *job,
    void *ud)
{
	(void)ud;
	return wh_submit(whp, url, id, body, len, job);
}

static unsigned long
pool_inflight(void *ud)
{
	(void)ud;
	return wh_inflight(whp);
}

static unsigned long
pool_queued(void *ud)
{
	(void)ud;
	return wh_queued(whp);
}

static void
on_delivered(void *job, const char *delivery_id, const struct wh_result *r)
{
	(void)delivery_id;
	in_job_done(job, r);
}

/* ---- XMPP to responders and the webhook ---- */

static void
on_up(void *ud)
{
	(void)ud;
	out_session_up(out);
}

static void
on_down(const char *why, const char *stream_error, int blames, void *ud)
{
	(void)ud;
	out_session_down(out, why, stream_error, blames);
}

static void
on_stanza(xmpp_stanza_t *st, void *ud)
{
	(void)ud;
	if (!out_take_stanza(out, st))
		in_stanza(in, st);
}

static int
start_parts(
    const struct conf *c, const struct privs *p, char *err, size_t errlen)
{
	static const struct out_link olink = {link_is_up, link_down_reason,
	    link_write, link_write_alone, link_reconnect, send_answer};
	static const struct in_link ilink = {link_is_up, link_send, link_ctx};
	static const struct in_pool pool = {
	    pool_submit, pool_inflight, pool_queued};
	struct out_settings os = {c->jid, c->queue_max, c->queue_wait};

	if ((out = out_new(lp, &olink, NULL, &os)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((in = in_new(lp, c, p, &ilink, &pool, NULL, err, errlen)) == NULL)
		return -1;
	if (c->callback_url != NULL &&
	    (whp = wh_new(lp, c, on_delivered, in_job_free, err, errlen)) ==
		NULL)
		return -1;
	return 0;
}

int
route_start(struct loop *loop, const struct conf *c, const struct privs *p,
    char *err, size_t errlen)
{
	static const struct listener_cbs lcbs = {on_frame, on_close, on_accept};
	static const struct xsess_cbs xcbs = {on_up, on_down, on_stanza};
	struct listener_settings ls = {c->socket, c->max_clients,
	    c->client_idle_timeout, c->max_pipelined};

	lp = loop;
	cf = c;
	pv = p;
	stanza_global_init();
	started_ms = xr_now_ms();
	if (start_parts(c, p, err, errlen) < 0)
		return -1;
	if (privs_socket_dir(p, c->socket, err, errlen) < 0 ||
	    (lis = listener_new(lp, &ls, &lcbs, NULL, err, errlen)) == NULL)
		return -1;
	if (privs_own_socket(p, c->socket, err, errlen) < 0 ||
	    xsess_start(lp, c, &xcbs, NULL, err, errlen) < 0) {
		listener_free(lis);
		lis = NULL;
		return -1;
	}
	return 0;
}

void
route_reconfigure(void)
{
	out_set_limits(out, cf->queue_max, cf->queue_wait);
}

void
route_drain(void)
{
	out_drain(out);
}

int
route_busy(void)
{
	struct out_stats st;

	out_stats(out, &st);
	return st.in_bridge > 0;
}

void
route_stop(void)
{
	out_give_up(out, "the bridge is shutting down");
	/* Give the answers a moment to reach the responders. */
	for (int i = 0; i < 5 && listener_nclients(lis) > 0; i++)
		loop_run_once(lp, 20);
	/* Deliveries hold stanzas of libstrophe's context: first. */
	wh_free(whp);
	whp = NULL;
	in_free(in);
	in = NULL;
	xsess_stop();
	listener_free(lis);
	lis = NULL;
	out_free(out);
	out = NULL;
	stanza_thread_done();
}
