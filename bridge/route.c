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
#include "auth.h"
#include "incoming.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "outgoing.h"
#include "privs.h"
#include "route.h"
#include "route_priv.h"
#include "stanza.h"
#include "status.h"
#include "stray.h"
#include "util.h"
#include "webhook.h"
#include "xmpp.h"

static void
answer_status(struct route *rt, struct client *cl, uint32_t seq)
{
	static const struct answer oom = {.outcome = OUTCOME_BUSY,
	    .condition = "resource-constraint",
	    .text = "bridge out of memory"};
	struct status_report r = {0};
	char *doc;
	size_t len = 0;

	r.uptime_s = (xr_now_ms() - rt->started_ms) / 1000;
	r.jid = rt->cf->jid;
	r.up = xsess_is_up(rt->xs);
	r.down_reason = r.up ? "" : xsess_down_reason(rt->xs);
	out_stats(rt->out, &r.out);
	r.stray_answers = stray_count(rt->sy);
	r.stray_last_seen = stray_last_unix(rt->sy);
	r.queue_max = rt->cf->queue_max;
	r.responders = listener_nclients(rt->lis);
	r.webhook = rt->cf->callback_url != NULL;
	in_stats(rt->in, &r.in);
	r.answered = rt->tally.n;
	/* Not counted among the answers it reports. */
	if ((doc = status_json(&r, &len)) == NULL)
		answer_send(cl, seq, &oom, &rt->tally);
	else
		answer_send(cl, seq,
		    &(struct answer){.outcome = OUTCOME_REPLY, .text = doc},
		    NULL);
	free(doc);
}

/* ---- responders to XMPP ---- */

static int
on_accept(int fd, char *why, size_t whylen, void *ud)
{
	struct route *rt = ud;

	return privs_check_peer(rt->pv, fd, why, whylen);
}

static void
on_frame(struct client *cl, const struct frame *f, void *ud)
{
	struct route *rt = ud;
	struct out_request rq;
	struct stanza st;

	if (f->type == FRAME_STATUS) {
		answer_status(rt, cl, f->seq);
		return;
	}
	if (admit(rt->cf, rt->au, cl, f, &rq, &st, route_out_link.answer, rt) <
	    0)
		return;
	out_submit(rt->out, &rq);
	stanza_free(&st);
}

static void
on_close(struct client *cl, void *ud)
{
	struct route *rt = ud;

	out_drop_client(rt->out, cl);
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
	struct route *rt = ud;

	out_session_up(rt->out);
}

static void
on_down(const char *why, const char *stream_error, int blames, void *ud)
{
	struct route *rt = ud;

	out_session_down(rt->out, why, stream_error, blames);
}

static void
on_stanza(xmpp_stanza_t *st, void *ud)
{
	struct route *rt = ud;

	if (rt->stopping)
		return; /* incoming delivery and its workers are gone */
	if (!out_take_stanza(rt->out, st))
		in_stanza(rt->in, st);
}

static int
start_parts(struct route *rt, char *err, size_t errlen)
{
	const struct conf *c = rt->cf;
	struct out_settings os = {c->jid, c->queue_max, c->queue_wait};

	if ((rt->sy = stray_new()) == NULL ||
	    (rt->out = out_new(rt->lp, rt->sy, &route_out_link, rt, &os)) ==
		NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((rt->in = in_new(rt->lp, rt->sy, c, rt->pv, &route_in_link,
		 &route_in_pool, rt, err, errlen)) == NULL)
		return -1;
	if (c->callback_url != NULL &&
	    (rt->whp = wh_new(
		 rt->lp, c, on_delivered, in_job_free, err, errlen)) == NULL)
		return -1;
	return 0;
}

/* Binds the socket and starts the session. */
static int
start_io(struct route *rt, char *err, size_t errlen)
{
	static const struct listener_cbs lcbs = {on_frame, on_close, on_accept};
	static const struct xsess_cbs xcbs = {on_up, on_down, on_stanza};
	const struct conf *c = rt->cf;
	struct listener_settings ls = {c->socket, c->max_clients,
	    c->client_idle_timeout, c->max_pipelined};

	if (privs_socket_dir(rt->pv, c->socket, err, errlen) < 0 ||
	    (rt->lis = listener_new(rt->lp, &ls, &lcbs, rt, err, errlen)) ==
		NULL)
		return -1;
	return privs_own_socket(rt->pv, c->socket, err, errlen) < 0 ||
		(rt->xs = xsess_new(rt->lp, c, &xcbs, rt, err, errlen)) == NULL
	    ? -1
	    : 0;
}

struct route *
route_new(struct loop *lp, const struct conf *c, const struct privs *p,
    char *err, size_t errlen)
{
	struct route *rt = calloc(1, sizeof(*rt));

	if (rt == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rt->lp = lp;
	rt->cf = c;
	rt->pv = p;
	rt->started_ms = xr_now_ms();
	stanza_global_init();
	if (start_parts(rt, err, errlen) < 0 || start_io(rt, err, errlen) < 0) {
		route_free(rt);
		return NULL;
	}
	return rt;
}

int
route_start_auth(struct route *rt, char *err, size_t errlen)
{
	return (rt->au = auth_new(rt->lp, rt->cf, err, errlen)) == NULL ? -1
									: 0;
}

void
route_reconfigure(struct route *rt)
{
	const struct conf *c = rt->cf;

	out_set_limits(rt->out, c->queue_max, c->queue_wait);
	xsess_reconfigure(rt->xs, c);
	if (in_reconfigure(rt->in, c) < 0)
		log_warnx("out of memory: callback_url stays as it was");
	if (wh_reconfigure(rt->whp, c) < 0)
		log_warnx("out of memory: the webhook's settings stay as they "
			  "were");
	if (rt->au != NULL)
		auth_reconfigure(rt->au, c);
}

void
route_pump(struct route *rt)
{
	xsess_pump(rt->xs);
}

void
route_drain(struct route *rt)
{
	out_drain(rt->out);
}

int
route_busy(const struct route *rt)
{
	struct out_stats st;

	out_stats(rt->out, &st);
	return st.in_bridge > 0;
}

void
route_free(struct route *rt)
{
	if (rt == NULL)
		return;
	if (rt->out != NULL)
		out_give_up(rt->out, "the bridge is shutting down");
	/* Give the answers a moment to reach the responders. */
	for (int i = 0; i < 5 && listener_nclients(rt->lis) > 0; i++)
		loop_run_once(rt->lp, 20);
	/* Deliveries hold stanzas of libstrophe's context: first.  What the
	 * session still reads while it closes goes nowhere. */
	rt->stopping = 1;
	wh_free(rt->whp);
	xsess_free(rt->xs);
	in_free(rt->in);
	listener_free(rt->lis);
	auth_free(rt->au);
	out_free(rt->out);
	stray_free(rt->sy);
	stanza_thread_done();
	free(rt);
}
