/*
 * Routing.  The invariant: every SUBMIT frame gets exactly one OUTCOME,
 * unless its responder went away first.
 *
 * "sent" (202) is a promise that the XMPP server has taken the stanza.
 * XEP-0114 has no acknowledgements, so after writing stanzas the bridge
 * writes an iq ping addressed to its own domain: the server handles the
 * stream in order and routes the ping back to us, so its return covers
 * everything written before it.  A few pings are in flight at once
 * (PINGS_IN_FLIGHT), each covering what was written in one turn of the
 * loop, so under load one ping covers several stanzas.  A bounce that
 * comes back before the ping answers its request instead.  When the stream breaks, what was written but not
 * covered is written again after the reconnect (at least once, same id);
 * while the session is down, requests wait in order (track.c's FIFO), up
 * to queue_max of them and queue_wait seconds each.
 *
 * A stream error that blames what was written (streamerr.h) makes every
 * stanza in flight a suspect: after the reconnect the suspects are written
 * one at a time, each behind its own ping, so the one in flight at the
 * next such error is the culprit.  A stanza in flight at two of them is
 * not written again but answered "stream-closed" (502): one bad stanza
 * costs at most two sessions, and the others are still written.  A plain
 * disconnect or a server shutdown blames nothing and changes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "claim.h"
#include "http.h"
#include "jid.h"
#include "json_out.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "outbuf.h"
#include "privs.h"
#include "route.h"
#include "rules.h"
#include "spool.h"
#include "stray.h"
#include "track.h"
#include "urltmpl.h"
#include "util.h"
#include "webhook.h"
#include "wire.h"
#include "xmpp.h"
#include "xmpp_error.h"

#define NS_PING "urn:xmpp:ping"
/* Every bridge's acknowledgement pings have ids ACK_ID "RANDOM-N". */
#define ACK_ID "xr-ack-"

/* A ping unanswered this long means a stream we cannot trust. */
#define ACK_TIMEOUT_MS 10000
#define PINGS_IN_FLIGHT 8

static const struct conf *cf;
static struct loop *lp;
static const struct privs *pv;
static char ack_prefix[32];          /* "xr-ack-RANDOM-": our pings' ids */
static unsigned long next_batch = 1; /* the ping that covers new writes */
static unsigned long last_acked;     /* pings up to this one came back */
static int unpinged;                 /* written since the last ping */
static int draining;                 /* SIGTERM: take no new requests */
static struct loop_timer ping_timer, ack_timer;
/* For the status report: answers by outcome, and more. */
static unsigned long answered[OUTCOME_COUNT];
static unsigned long sessions_lost, pings_sent;
static int64_t started_ms;
static struct spool *sp; /* the webhook's spool; NULL: no spooling */
static struct loop_timer sweep_timer;

static void sweep(void *ud);

static void
arm_sweep(void)
{
	int64_t next = track_next_deadline();

	if (next > 0)
		loop_timer_arm(lp, &sweep_timer, next, sweep, NULL);
	else
		loop_timer_cancel(&sweep_timer);
}

static void
answer_text(struct client *cl, uint32_t seq, enum outcome o,
    const char *condition, const char *text)
{
	answered[o]++;
	if (cl != NULL)
		listener_send_outcome(cl, seq, o, condition, text);
}

/* ---- writing, and knowing the server took it ---- */

static void send_ping(void *ud);

static void
ack_timeout(void *ud)
{
	(void)ud;
	log_warnx("the XMPP server did not return our acknowledgement ping "
		  "within %d s: reconnecting",
	    ACK_TIMEOUT_MS / 1000);
	xsess_reconnect();
}

/* 1 while a suspect of a blaming stream error waits to be written again
 * or acknowledged: then stanzas go out one at a time. */
static int
suspects_left(void)
{
	for (struct pending *p = track_fifo_head(); p; p = p->fnext)
		if (p->breaks > 0)
			return 1;
	return 0;
}

/* Writes every HELD request, in order, while the session is up (one at a
 * time, each behind its own ping, while there are suspects). */
static void
write_held(void)
{
	int wrote = 0, one_by_one = suspects_left();

	for (struct pending *p = track_fifo_head(); p && xsess_is_up();
	     p = p->fnext) {
		if (one_by_one && p->state == P_UNACKED)
			break; /* its ping has not come back yet */
		if (p->state != P_HELD)
			continue;
		if (xsess_send_raw(p->raw, p->rawlen) < 0)
			break;
		stray_sent(p->id);
		p->state = P_UNACKED;
		p->batch = next_batch;
		p->hold_until = 0;
		wrote = 1;
		if (one_by_one)
			break;
	}
	if (wrote) {
		unpinged = 1;
		/* At the end of this turn of the loop: one ping for all the
		 * frames that arrived together. */
		loop_timer_arm(lp, &ping_timer, xr_now_ms(), send_ping, NULL);
	}
}

static void
send_ping(void *ud)
{
	char iq[256];
	int n;

	(void)ud;
	/* Pings are pipelined, so a stanza waits for the round trip of the
	 * ping right behind it, not for the one before; a few in flight are
	 * enough, and the next ack sends the next one. */
	if (!unpinged || !xsess_is_up() ||
	    next_batch - 1 - last_acked >= PINGS_IN_FLIGHT)
		return;
	/* In a write of its own, behind the stanzas' write.  Joined with
	 * them, Prosody handled both in one turn and could send the ping's
	 * answer before its copy of a stanza to the addressee: a SIGKILL
	 * in between lost a stanza already answered 202 (1 in 4 runs of the
	 * fault test; 0 in 8 with the ping apart). */
	n = snprintf(iq, sizeof(iq),
	    "<iq type='get' id='%s%lu' from='%s' to='%s'>"
	    "<ping xmlns='" NS_PING "'/></iq>",
	    ack_prefix, next_batch, cf->jid, cf->jid);
	if (n < 0 || (size_t)n >= sizeof(iq) ||
	    xsess_send_raw_alone(iq, (size_t)n) < 0)
		return;
	if (next_batch - 1 == last_acked) /* the oldest in flight now */
		loop_timer_arm(lp, &ack_timer, xr_now_ms() + ACK_TIMEOUT_MS,
		    ack_timeout, NULL);
	next_batch++;
	pings_sent++;
	unpinged = 0;
}

/* Our ping number n came back: the server has what was written before. */
static void
on_ack(unsigned long n)
{
	struct pending *p, *next;

	if (n <= last_acked || n >= next_batch)
		return; /* from before a reconnect */
	last_acked = n;
	if (next_batch - 1 > last_acked)
		loop_timer_arm(lp, &ack_timer, xr_now_ms() + ACK_TIMEOUT_MS,
		    ack_timeout, NULL);
	else
		loop_timer_cancel(&ack_timer);
	for (p = track_fifo_head(); p; p = next) {
		next = p->fnext;
		if (p->state != P_UNACKED || p->batch > n)
			continue;
		if (p->what == WAIT_SENT) {
			track_remove(p);
			answer_text(p->cl, p->seq, OUTCOME_SENT, NULL, NULL);
			pending_free(p);
		} else {
			track_acked(p);
		}
	}
	write_held(); /* the next suspect, if any */
	send_ping(NULL);
	arm_sweep();
}

/* 1 if s is one of our pings coming back (and handled as such), or the
 * answer to another bridge's ping (counted as stray). */
static int
is_ack(xmpp_stanza_t *s)
{
	const char *id = xmpp_stanza_get_id(s);
	const char *from = xmpp_stanza_get_from(s);
	const char *type = xmpp_stanza_get_type(s);
	size_t plen = strlen(ack_prefix);
	unsigned long long n;

	if (id == NULL || strncmp(id, ACK_ID, sizeof(ACK_ID) - 1) != 0 ||
	    from == NULL || !jid_equal(from, cf->jid))
		return 0;
	if (strncmp(id, ack_prefix, plen) != 0) {
		/* Another bridge's ping, or its return, routed to us: a ping
		 * is still answered, as any other. */
		int is_get = type && strcmp(type, "get") == 0;

		stray_seen(
		    is_get ? "an acknowledgement ping" : "an acknowledgement",
		    id, from, cf->jid);
		return !is_get;
	}
	if (xr_parse_uint(id + plen, 1, ~0UL, &n) == 0)
		on_ack((unsigned long)n);
	return 1;
}

/* Answers now what cannot be held: 1 if it did. */
static int
refuse_now(struct client *cl, uint32_t seq)
{
	if (draining) {
		answer_text(cl, seq, OUTCOME_UNAVAILABLE, "service-unavailable",
		    "the bridge is shutting down");
		return 1;
	}
	if (!xsess_is_up() && cf->queue_wait == 0) {
		answer_text(cl, seq, OUTCOME_UNAVAILABLE, "service-unavailable",
		    xsess_down_reason());
		return 1;
	}
	if (track_queued() >= cf->queue_max) {
		char why[XR_ERRLEN];

		snprintf(why, sizeof(why),
		    "%s; %lu requests already wait (queue_max)",
		    xsess_is_up() ? "the XMPP server is slow to take stanzas"
				  : xsess_down_reason(),
		    track_queued());
		answer_text(cl, seq,
		    xsess_is_up() ? OUTCOME_BUSY : OUTCOME_UNAVAILABLE,
		    "service-unavailable", why);
		return 1;
	}
	return 0;
}

/* ---- the status report ---- */

/* The bridge's state as JSON: no secrets, nothing about who asked. */
static void
answer_status(struct client *cl, uint32_t seq)
{
	json_t *answers = json_object();
	char *doc;
	size_t len = 0;

	for (int o = 0; answers && o < OUTCOME_COUNT; o++)
		json_object_set_new(answers, outcome_name((enum outcome)o),
		    json_integer((json_int_t)answered[o]));
	doc = xr_json_dump(
	    json_pack("{s:s, s:I, s:{s:s, s:s, s:o, s:I, s:I, s:I, s:o},"
		      " s:{s:I, s:I, s:I, s:I}, s:{s:b, s:I, s:I, s:I, s:I},"
		      " s:o*}",
		"version", XR_VERSION, "uptime_s",
		(json_int_t)((xr_now_ms() - started_ms) / 1000), "xmpp", "jid",
		cf->jid, "state", xsess_is_up() ? "up" : "down", "reason",
		xr_json_text(xsess_is_up() ? "" : xsess_down_reason(), 1024),
		"sessions_lost", (json_int_t)sessions_lost,
		"acknowledgement_pings", (json_int_t)pings_sent,
		"stray_answers", (json_int_t)stray_count(), "stray_last_seen",
		stray_last_unix() != 0
		    ? json_integer((json_int_t)stray_last_unix())
		    : json_null(),
		"requests", "in_bridge", (json_int_t)track_count(), "queued",
		(json_int_t)track_queued(), "queue_max",
		(json_int_t)cf->queue_max, "responders_connected",
		(json_int_t)listener_nclients(), "webhook", "configured",
		cf->callback_url != NULL, "in_flight",
		(json_int_t)(cf->callback_url ? wh_inflight() : 0UL),
		"spool_messages", (json_int_t)(sp ? spool_count(sp) : 0),
		"spool_bytes", (json_int_t)(sp ? spool_bytes(sp) : 0ULL),
		"spool_queues", (json_int_t)(sp ? spool_nqueues(sp) : 0),
		"answers", answers),
	    &len);
	if (doc == NULL) {
		answer_text(cl, seq, OUTCOME_BUSY, "resource-constraint",
		    "bridge out of memory");
		return;
	}
	listener_send_outcome(cl, seq, OUTCOME_REPLY, NULL, doc);
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
answer_denied(struct client *cl, uint32_t seq, const struct auth_request *rq,
    const struct auth_result *res)
{
	static const enum outcome outcomes[] = {[AUTH_OK] = OUTCOME_REJECTED,
	    [AUTH_UNAUTHORIZED] = OUTCOME_UNAUTHORIZED,
	    [AUTH_FORBIDDEN] = OUTCOME_FORBIDDEN,
	    [AUTH_THROTTLED] = OUTCOME_THROTTLED};
	struct frame_out fo = {0};
	char err[XR_ERRLEN];

	log_info("refused %s from %s (credential %s, address %s): %s", rq->kind,
	    rq->from, res->name[0] ? res->name : "-",
	    rq->remote_addr ? rq->remote_addr : "-", res->text);
	frame_begin(&fo, FRAME_OUTCOME, seq);
	answered[outcomes[res->verdict]]++;
	frame_put_str(&fo, FIELD_OUTCOME, outcome_name(outcomes[res->verdict]));
	frame_put_str(&fo, FIELD_TEXT, res->text);
	if (res->challenge[0] != '\0')
		frame_put_str(&fo, FIELD_CHALLENGE, res->challenge);
	if (res->verdict == AUTH_THROTTLED)
		frame_put_uint(&fo, FIELD_RETRY, res->retry_after);
	if (frame_finish(&fo, err, sizeof(err)) == 0)
		listener_send(cl, &fo);
	frame_out_free(&fo);
}

/* A frame whose stanza is not what its fields say: never written. */
static void
answer_bad_stanza(
    struct client *cl, const struct frame *f, const struct stanza_error *e)
{
	struct frame_out fo = {0};
	char err[XR_ERRLEN];
	const char *cond = e->status == 403 ? "forbidden"
	    : e->status == 413              ? "policy-violation"
					    : "bad-request";

	log_warnx("refused a submitted %.16s (id %.64s, from %.200s): %s",
	    frame_get(f, FIELD_KIND), frame_get(f, FIELD_ID),
	    frame_get(f, FIELD_FROM), e->text);
	if (e->status == 500) {
		answer_text(
		    cl, f->seq, OUTCOME_BUSY, "resource-constraint", e->text);
		return;
	}
	answered[OUTCOME_REJECTED]++;
	frame_begin(&fo, FRAME_OUTCOME, f->seq);
	frame_put_str(&fo, FIELD_OUTCOME, outcome_name(OUTCOME_REJECTED));
	frame_put_str(&fo, FIELD_CONDITION, cond);
	frame_put_str(&fo, FIELD_TEXT, e->text);
	frame_put_uint(&fo, FIELD_STATUS, (unsigned long)e->status);
	if (frame_finish(&fo, err, sizeof(err)) == 0)
		listener_send(cl, &fo);
	frame_out_free(&fo);
}

static void
on_frame(struct client *cl, const struct frame *f, void *ud)
{
	const char *kind = frame_get(f, FIELD_KIND);
	const char *id = frame_get(f, FIELD_ID);
	const char *to = frame_get(f, FIELD_TO);
	const char *stanza = frame_get(f, FIELD_STANZA);
	struct stanza st;
	struct stanza_error se;
	const char *wait = frame_get(f, FIELD_WAIT);
	const char *tmo = frame_get(f, FIELD_TIMEOUT);
	unsigned long long timeout_ms = cf->iq_timeout * 1000ULL;
	enum wait_for what = WAIT_IQ_REPLY;
	int64_t now;
	int rc;

	const char *from = frame_get(f, FIELD_FROM);
	struct auth_request rq;
	struct auth_result res;

	(void)ud;
	if (f->type == FRAME_STATUS) {
		answer_status(cl, f->seq);
		return;
	}
	if (!kind || !id || !to || !from || !stanza || !wait) {
		answer_text(cl, f->seq, OUTCOME_REJECTED, "bad-request",
		    "submit frame lacks kind, id, to, from, stanza or wait");
		return;
	}
	if (claim_check(cf, f, &st, &se) < 0) {
		answer_bad_stanza(cl, f, &se);
		return;
	}
	rq.authorization = frame_get(f, FIELD_AUTHORIZATION);
	rq.remote_user = frame_get(f, FIELD_REMOTE_USER);
	rq.remote_addr = frame_get(f, FIELD_REMOTE_ADDR);
	rq.kind = kind;
	rq.from = st.from; /* as it will be written */
	auth_check(&rq, &res);
	if (res.verdict != AUTH_OK) {
		answer_denied(cl, f->seq, &rq, &res);
		stanza_free(&st);
		return;
	}
	if (tmo != NULL &&
	    xr_parse_uint(tmo, 1, cf->iq_max_timeout * 1000ULL, &timeout_ms) <
		0)
		timeout_ms = cf->iq_max_timeout * 1000ULL;
	if (strcmp(wait, "receipt") == 0)
		what = WAIT_RECEIPT;
	else if (strcmp(wait, "sent") == 0)
		what = WAIT_SENT;
	if (refuse_now(cl, f->seq)) {
		stanza_free(&st);
		return;
	}
	now = xr_now_ms();
	rc = track_add(cl, f->seq, what, id, to, st.xml, st.xml_len,
	    now + (int64_t)timeout_ms,
	    xsess_is_up() ? 0 : now + (int64_t)cf->queue_wait * 1000);
	stanza_free(&st);
	if (rc < 0) {
		if (errno == EEXIST)
			answer_text(cl, f->seq, OUTCOME_REJECTED, "conflict",
			    "a request with this id to this address is "
			    "already waiting");
		else
			answer_text(cl, f->seq, OUTCOME_BUSY,
			    "resource-constraint", "bridge out of memory");
		return;
	}
	log_debug("%s %s to %s %s", kind, id, to,
	    xsess_is_up() ? "queued" : "held until the session is back");
	write_held();
	arm_sweep();
}

static void
on_close(struct client *cl, void *ud)
{
	(void)ud;
	track_drop_client(cl);
}

/* ---- XMPP to responders ---- */

static void
on_up(void *ud)
{
	(void)ud;
	write_held();
}

/* The stream error blamed what was written: what was in flight is
 * suspect, and what was in flight twice is given up. */
static void
blame_in_flight(const char *condition)
{
	struct pending *p, *next;
	unsigned long suspects = 0;
	char why[XR_ERRLEN];

	for (p = track_fifo_head(); p; p = next) {
		next = p->fnext;
		if (p->state != P_UNACKED)
			continue;
		if (++p->breaks < 2) {
			suspects++;
			continue;
		}
		log_warnx("stanza %s to %s was in flight when the XMPP server "
			  "closed the stream twice (%s): not written again",
		    p->id, p->to, condition);
		snprintf(why, sizeof(why),
		    "the XMPP server closed the stream after this stanza, "
		    "twice (%s); it is not sent again",
		    condition);
		track_remove(p);
		answer_text(
		    p->cl, p->seq, OUTCOME_STREAM_CLOSED, condition, why);
		pending_free(p);
	}
	if (suspects > 0)
		log_warnx("the stream error (%s) blames what was written: the "
			  "%lu stanza(s) in flight are written again one at a "
			  "time",
		    condition, suspects);
}

/*
 * 1 if the only stanza in flight is a suspect, written alone after a
 * blaming stream error.  A server that closes the stream for a stanza
 * resets the connection too; the bridge reads a stream error that came
 * before the reset (xmpp.c's spare_fd), but one the server's own reset
 * discarded is gone.  A break with no stream error, with that stanza
 * alone in flight, is blamed on it as well.
 */
static int
lone_suspect_in_flight(void)
{
	struct pending *lone = NULL;

	for (struct pending *p = track_fifo_head(); p; p = p->fnext) {
		if (p->state != P_UNACKED)
			continue;
		if (lone != NULL)
			return 0;
		lone = p;
	}
	return lone != NULL && lone->breaks > 0;
}

static void
on_down(const char *why, const char *stream_error, int blames, void *ud)
{
	struct pending *p;

	(void)ud;
	sessions_lost++;
	/* A stream error that blames nothing (the server said why, and it
	 * was not what we wrote) changes nothing. */
	if (blames)
		blame_in_flight(stream_error);
	else if (stream_error == NULL && lone_suspect_in_flight())
		blame_in_flight("closed without a stream error we could read");
	/* libstrophe's queue was dropped and no ping will come back: what
	 * was written but not acknowledged is written again later. */
	last_acked = next_batch - 1; /* what is in flight will not return */
	unpinged = 0;
	loop_timer_cancel(&ping_timer);
	loop_timer_cancel(&ack_timer);
	track_requeue(xr_now_ms() + (int64_t)cf->queue_wait * 1000);
	while ((p = track_take_acked()) != NULL) {
		answer_text(p->cl, p->seq, OUTCOME_UNAVAILABLE,
		    "service-unavailable",
		    "the XMPP session was lost before an answer arrived");
		pending_free(p);
	}
	log_info("XMPP session down (%s): %lu requests wait for it", why,
	    track_queued());
	arm_sweep();
}

static void
sweep(void *ud)
{
	struct pending *p;
	int64_t now = xr_now_ms();

	(void)ud;
	while ((p = track_expired(now)) != NULL) {
		/* Never written: the session is down, whichever wait ran
		 * out first, and the client may try again. */
		if (p->state == P_HELD) {
			char why[XR_ERRLEN];

			snprintf(why, sizeof(why),
			    "%s; the request waited for it as long as it "
			    "could (queue_wait %lu s)",
			    xsess_down_reason(), cf->queue_wait);
			answer_text(p->cl, p->seq, OUTCOME_UNAVAILABLE,
			    "service-unavailable", why);
		} else {
			answer_text(p->cl, p->seq, OUTCOME_TIMEOUT,
			    "remote-server-timeout",
			    p->what == WAIT_SENT
				? "the XMPP server did not take it in time"
				: "no reply in time");
		}
		pending_free(p);
	}
	arm_sweep();
}

/* Type, condition and text of an error stanza's <error/>, bounded: a
 * peer chooses them, and they reach the responder (common/xmpp_error.h). */
struct stanza_err {
	const char *type, *condition;
	char *text; /* libstrophe-allocated, cut to XR_ERROR_TEXT_MAX */
};

static void
error_details(xmpp_stanza_t *st, struct stanza_err *se)
{
	xmpp_stanza_t *e = xmpp_stanza_get_child_by_name(st, "error");

	memset(se, 0, sizeof(*se));
	if (e == NULL)
		return;
	se->type = xmpp_stanza_get_type(e);
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(e); c;
	     c = xmpp_stanza_get_next(c)) {
		const char *name = xmpp_stanza_get_name(c);
		const char *ns = xmpp_stanza_get_ns(c);

		if (!xmpp_stanza_is_tag(c) || !name || !ns ||
		    strcmp(ns, NS_STANZAS) != 0)
			continue;
		if (strcmp(name, "text") == 0) {
			if (se->text == NULL)
				se->text = xmpp_stanza_get_text(c);
		} else if (se->condition == NULL) {
			se->condition = name;
		}
	}
	se->type = xr_error_type(se->type);
	se->condition = xr_error_condition(se->condition);
	if (se->text != NULL)
		se->text[ob_utf8_cut(se->text, XR_ERROR_TEXT_MAX)] = '\0';
}

/* Sends the outcome for p, built from the stanza that answers it. */
static void
answer_with_stanza(struct pending *p, xmpp_stanza_t *st, int is_error)
{
	struct frame_out fo = {0};
	struct stanza_err se = {0};
	char err[XR_ERRLEN], *text;
	size_t len = 0;

	if ((text = wire_text(st, &len)) == NULL) {
		answer_text(p->cl, p->seq, OUTCOME_BUSY, "resource-constraint",
		    "bridge out of memory");
		return;
	}
	if (is_error)
		error_details(st, &se);
	frame_begin(&fo, FRAME_OUTCOME, p->seq);
	answered[is_error ? OUTCOME_ERROR : OUTCOME_REPLY]++;
	frame_put_str(&fo, FIELD_OUTCOME,
	    outcome_name(is_error ? OUTCOME_ERROR : OUTCOME_REPLY));
	frame_put(&fo, FIELD_STANZA, text, len);
	if (is_error) {
		frame_put_str(&fo, FIELD_ERRTYPE, xr_error_type(se.type));
		frame_put_str(
		    &fo, FIELD_CONDITION, xr_error_condition(se.condition));
		frame_put_str(&fo, FIELD_TEXT, se.text);
	}
	if (frame_finish(&fo, err, sizeof(err)) == 0)
		listener_send(p->cl, &fo);
	else
		answer_text(
		    p->cl, p->seq, OUTCOME_BUSY, "resource-constraint", err);
	frame_out_free(&fo);
	xmpp_free(xsess_ctx(), se.text);
	free(text);
}

/* The id a receipt acknowledges: <received id='…'/>, else its own id. */
static const char *
receipt_id(xmpp_stanza_t *st)
{
	xmpp_stanza_t *r =
	    xmpp_stanza_get_child_by_name_and_ns(st, "received", NS_RECEIPTS);
	const char *id;

	if (r == NULL)
		return NULL;
	id = xmpp_stanza_get_id(r);
	return id && *id ? id : xmpp_stanza_get_id(st);
}

/* ---- incoming stanzas to the webhook ---- */

/* Sends a stanza we built, and releases it. */
static void
send_answer(xmpp_stanza_t *st)
{
	stray_sent(xmpp_stanza_get_id(st));
	if (xsess_send(st) < 0)
		log_warnx("an answer to %s was lost: XMPP session down",
		    xmpp_stanza_get_to(st) ? xmpp_stanza_get_to(st) : "?");
	xmpp_stanza_release(st);
}

static void
send_error(xmpp_stanza_t *orig, const char *type, const char *condition,
    const char *text)
{
	xmpp_stanza_t *e = rules_error(orig, type, condition, text);

	if (e != NULL)
		send_answer(e);
}

/* An iq get/set for the component itself that no webhook takes: answer
 * it, as RFC 6120 §8.2.3 requires.  Pings get a result, the rest
 * service-unavailable. */
static void
answer_iq_request(xmpp_stanza_t *st)
{
	xmpp_stanza_t *child = xmpp_stanza_get_children(st);

	while (child && !xmpp_stanza_is_tag(child))
		child = xmpp_stanza_get_next(child);
	if (child && xmpp_stanza_get_ns(child) &&
	    strcmp(xmpp_stanza_get_ns(child), NS_PING) == 0 &&
	    strcmp(xmpp_stanza_get_type(st), "get") == 0) {
		xmpp_stanza_t *res = rules_result(xsess_ctx(), st);

		if (res != NULL)
			send_answer(res);
		return;
	}
	send_error(st, "cancel", "service-unavailable", NULL);
}

/* Do callback_stanzas and callback_addresses let st through? */
static int
deliverable(xmpp_stanza_t *st)
{
	const char *name = xmpp_stanza_get_name(st);
	const char *to = xmpp_stanza_get_to(st);
	unsigned long kind = 0, form;

	if (cf->callback_url == NULL || name == NULL)
		return 0;
	if (strcmp(name, "message") == 0)
		kind = CONF_KIND_MESSAGE;
	else if (strcmp(name, "presence") == 0)
		kind = CONF_KIND_PRESENCE;
	else if (strcmp(name, "iq") == 0)
		kind = CONF_KIND_IQ;
	if (to == NULL || strchr(to, '@') == NULL)
		form = CONF_ADDR_HOST;
	else
		form = strchr(to, '/') ? CONF_ADDR_FULL : CONF_ADDR_BARE;
	return (cf->callback_stanzas & kind) && (cf->callback_addresses & form);
}

/*
 * ---- the spool: messages the webhook could not take now ----
 *
 * A message whose delivery fails now (no connection, no answer in time,
 * 408, 429, 500, 502, 503, 504) is written to the spool (spool.c) and
 * tried again with back-off and the same delivery id until the webhook
 * takes it or retry_max_age has passed since it arrived; only then does
 * its sender get the error the reply rules give for the last failure.
 * Iqs and presences are never spooled.  Once a (URL, sender) pair has a
 * message spooled, later messages of that pair are spooled behind it and
 * tried one at a time, head first, so a dead URL holds up only its own
 * queue.  First attempts still run side by side (callback_max_inflight):
 * messages already on their way when the first one fails may overtake
 * it.  Retries wait while the XMPP session is down, as their answers and
 * bounces would have nowhere to go.
 */

#define SPOOL_PAUSE_MS 250 /* how often a paused spool looks again */

static struct loop_timer spool_timer;

/* One delivery handed to webhook.c. */
struct job {
	xmpp_stanza_t *st;      /* for the reply rules */
	char id[XR_ID_LEN + 1]; /* X-XMPP-Rest-Delivery */
	char *url;              /* a message's first attempt: for the spool */
	uint64_t seq;           /* arrival order */
	int64_t first;          /* unix ms of the arrival */
	struct spool_msg *msg;  /* a retry: the spooled message */
	int done;               /* on_delivered ran */
};

static void spool_tick(void *ud);
static void retried(struct job *j, const struct wh_result *r);

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Worth another try later: the webhook could not take it now. */
static int
retryable(const struct wh_result *r)
{
	if (r->kind == WH_REFUSED)
		return 0;
	if (r->kind != WH_RESPONSE)
		return 1;
	return r->status == 408 || r->status == 429 || r->status == 500 ||
	    r->status == 502 || r->status == 503 || r->status == 504;
}

static void
describe(const struct wh_result *r, char *buf, size_t size)
{
	if (r->kind == WH_RESPONSE)
		snprintf(buf, size, "%d%s%s", r->status,
		    r->reason && *r->reason ? " " : "",
		    r->reason ? r->reason : "");
	else
		snprintf(buf, size, "%s", r->error ? r->error : "failed");
}

/* The reply rules (rules.c): what goes back to the sender. */
static void
answer_delivery(xmpp_stanza_t *st, const struct wh_result *r)
{
	xmpp_stanza_t *out[RULES_MAX_ANSWERS];
	int n = rules_answer(xsess_ctx(), st, r, cf->jid, out);

	for (int i = 0; i < n; i++)
		send_answer(out[i]);
}

/* The result of a delivery that can never be made (why), not tried. */
static struct wh_result
refused(const char *why)
{
	struct wh_result r = {WH_REFUSED, 0, "", "", NULL, 0, why, 0};

	return r;
}

/* RFC 6120 defaults, so a URL never gets an empty {type}. */
static const char *
url_type(const char *name, const char *type)
{
	if (type != NULL)
		return type;
	if (strcmp(name, "message") == 0)
		return "normal";
	return strcmp(name, "presence") == 0 ? "available" : "";
}

static void
arm_spool(void)
{
	int64_t next = sp ? spool_next_due(sp) : 0;

	if (next > 0)
		loop_timer_arm(lp, &spool_timer, next, spool_tick, NULL);
	else
		loop_timer_cancel(&spool_timer);
}

static struct job *
job_new(xmpp_stanza_t *st, const char *url)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL || xr_random_id(j->id) < 0 ||
	    (url != NULL && (j->url = strdup(url)) == NULL)) {
		free(j);
		return NULL;
	}
	j->st = xmpp_stanza_clone(st);
	j->seq = sp ? spool_next_seq(sp) : 0;
	j->first = wall_ms();
	return j;
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->st != NULL)
		xmpp_stanza_release(j->st);
	free(j->url);
	free(j);
}

/* Milliseconds m may still be retried for (retry_max_age). */
static int64_t
age_left_ms(const struct spool_msg *m)
{
	return m->first + (int64_t)cf->retry_max_age * 1000 - wall_ms();
}

/* Makes q due after the back-off for m, but no later than m's age. */
static void
retry_later(
    struct spool_queue *q, const struct spool_msg *m, unsigned long retry_after)
{
	int64_t wait = spool_backoff_ms(cf->callback_retry_min,
	    cf->callback_retry_max, m->attempts, retry_after, xr_random_u32());
	int64_t left = age_left_ms(m);

	if (wait > left)
		wait = left > 0 ? left : 0;
	spool_schedule(sp, q, xr_now_ms() + wait);
	log_info("delivery %s: next try in %lld ms (%u so far; %zu spooled, "
		 "%llu bytes)",
	    m->id, (long long)wait, m->attempts, spool_count(sp),
	    spool_bytes(sp));
}

/* The next message of q, if any, is tried now. */
static void
go_on(struct spool_queue *q)
{
	if (q != NULL && !q->busy)
		spool_schedule(sp, q, xr_now_ms());
}

/*
 * Spools j's message (attempts made so far; why it waits) and makes its
 * queue due if it is new.  When it cannot be spooled, the sender gets
 * wait/resource-constraint at once.
 */
static void
spool_job(struct job *j, unsigned attempts, unsigned long retry_after,
    const char *why)
{
	const char *to = xmpp_stanza_get_to(j->st);
	const char *from = xmpp_stanza_get_from(j->st);
	struct spool_meta m;
	struct spool_msg *msg = NULL;
	char err[XR_ERRLEN], *text;
	size_t len = 0;
	int rc = -1;

	xr_strlcpy(m.id, j->id, sizeof(m.id));
	m.seq = j->seq;
	m.first = j->first;
	m.kind = "message";
	m.type = url_type("message", xmpp_stanza_get_type(j->st));
	m.to = to ? to : "";
	m.from = from ? from : "";
	if ((text = wire_text(j->st, &len)) == NULL)
		snprintf(err, sizeof(err), "out of memory");
	else
		rc = spool_put(
		    sp, j->url, &m, text, len, &msg, err, sizeof(err));
	free(text);
	if (rc != 0) {
		if (rc == SPOOL_FULL)
			log_warnx("delivery %s: spool full (spool_max_bytes "
				  "%lu): the message from %s is bounced",
			    j->id, cf->spool_max_bytes, m.from);
		else
			log_warnx("delivery %s: not spooled (%s): the message "
				  "from %s is bounced",
			    j->id, err, m.from);
		send_error(j->st, "wait", "resource-constraint",
		    rc == SPOOL_FULL ? "spool full" : "spool write failed");
		return;
	}
	msg->attempts = attempts;
	log_info("delivery %s: spooled (%s), message %" PRIu64 " from %s",
	    j->id, why, m.seq, m.from);
	if (!msg->q->busy && msg->q->due == 0)
		retry_later(msg->q, msg, retry_after);
	arm_spool();
}

/* Makes q due after callback_retry_min: a pause, not a failed try. */
static void
pause_queue(struct spool_queue *q)
{
	spool_schedule(
	    sp, q, xr_now_ms() + (int64_t)cf->callback_retry_min * 1000);
}

/* Tries the first message of q; q is neither busy nor due. */
static void
attempt(struct spool_queue *q)
{
	struct spool_msg *m = q->head;
	struct job *j = NULL;
	struct http_url u;
	char err[XR_ERRLEN], *body;
	size_t len = 0;

	if (wh_inflight() >= cf->callback_max_inflight &&
	    wh_queued() >= cf->callback_queue_max / 2) {
		/* Retries leave half of callback_queue_max to new stanzas,
		 * and wait for room rather than be refused. */
		pause_queue(q);
		return;
	}
	if ((body = spool_read(sp, m, &len, err, sizeof(err))) == NULL) {
		go_on(spool_set_aside(sp, m, err));
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->st = xmpp_stanza_new_from_string(xsess_ctx(), body)) == NULL) {
		free(body);
		if (j == NULL) {
			pause_queue(q);
			return;
		}
		free(j);
		go_on(spool_set_aside(sp, m, "its body is not a stanza"));
		return;
	}
	xr_strlcpy(j->id, m->id, sizeof(j->id));
	j->msg = m;
	q->busy = 1;
	/* Its URL, filled in at start, may be one no try can use. */
	if (http_url_parse(q->url, &u, err, sizeof(err)) < 0) {
		struct wh_result r = refused(q->url[0] != '\0'
			? err
			: "callback URL too long once filled in");

		free(body);
		retried(j, &r);
		job_free(j);
		return;
	}
	m->attempts++;
	if (wh_submit(q->url, m->id, body, len, j) < 0) {
		q->busy = 0;
		m->attempts--;
		job_free(j);
		pause_queue(q);
	}
}

static void
spool_tick(void *ud)
{
	struct spool_queue *q;
	int64_t now = xr_now_ms();

	(void)ud;
	if (!xsess_is_up()) {
		loop_timer_arm(
		    lp, &spool_timer, now + SPOOL_PAUSE_MS, spool_tick, NULL);
		return;
	}
	while ((q = spool_due(sp, now)) != NULL)
		attempt(q);
	arm_spool();
}

/* The outcome of a spooled message's retry. */
static void
retried(struct job *j, const struct wh_result *r)
{
	struct spool_msg *m = j->msg;
	struct spool_queue *q = m->q;
	char what[200];

	q->busy = 0;
	describe(r, what, sizeof(what));
	if (retryable(r) && age_left_ms(m) > 0) {
		retry_later(q, m, r->retry_after);
		return;
	}
	if (r->kind == WH_REFUSED)
		log_warnx("delivery %s: refused (%s) after %lld s in the "
			  "spool: the sender gets the error",
		    m->id, what, (long long)((wall_ms() - m->first) / 1000));
	else if (retryable(r))
		log_info("delivery %s: giving up after %u tries over %lld s "
			 "(retry_max_age %lu; last: %s): the sender gets the "
			 "error",
		    m->id, m->attempts,
		    (long long)((wall_ms() - m->first) / 1000),
		    cf->retry_max_age, what);
	else
		log_info("delivery %s: answered %s after %lld s in the spool",
		    m->id, what, (long long)((wall_ms() - m->first) / 1000));
	answer_delivery(j->st, r);
	go_on(spool_remove(sp, m));
}

/*
 * Fills in a loaded message's URL from today's callback_url.  One that
 * no try can use (too long for the buffer: then "") is still loaded, so
 * that its sender is answered when its turn comes (attempt).
 */
static int
loaded_url(const struct spool_meta *m, char *url, size_t size, void *ud)
{
	struct urltmpl_values v;
	char why[XR_ERRLEN];

	(void)ud;
	v.kind = m->kind;
	v.type = m->type;
	v.to = m->to;
	v.from = m->from;
	if (urltmpl_url(cf->callback_url, &v, url, size, why, sizeof(why)) < 0)
		log_warnx("spool: message %s: %s; it is bounced when its turn "
			  "comes (from %s)",
		    m->id, why, m->from);
	return 0;
}

/* Opens spool_dir (made 0700 for the daemon's user) and loads it. */
static int
spool_start(
    const struct conf *c, const struct privs *p, char *err, size_t errlen)
{
	long n;

	if (c->spool_max_bytes == 0) {
		log_info("spool_max_bytes 0: no spool; a failed message "
			 "delivery is bounced at once");
		return 0;
	}
	sp = spool_open(c->spool_dir, c->spool_max_bytes,
	    p->drop ? p->uid : (uid_t)-1, p->gid, err, errlen);
	if (sp == NULL)
		return -1;
	if ((n = spool_load(sp, loaded_url, NULL, xr_now_ms(), err, errlen)) <
	    0) {
		spool_close(sp);
		sp = NULL;
		return -1;
	}
	log_info("spool %s: %ld message(s) to deliver, %llu bytes, in %zu "
		 "queue(s)",
	    c->spool_dir, n, spool_bytes(sp), spool_nqueues(sp));
	arm_spool();
	return 0;
}

/* After wh_shutdown: the spool's memory goes, its files stay. */
static void
spool_stop(void)
{
	loop_timer_cancel(&spool_timer);
	if (sp != NULL)
		log_info("spool: %zu message(s) kept for the next start",
		    spool_count(sp));
	spool_close(sp);
	sp = NULL;
}

static void
deliver(xmpp_stanza_t *st)
{
	const char *name = xmpp_stanza_get_name(st);
	struct urltmpl_values v;
	char url[4096], why[XR_ERRLEN], *text;
	size_t len = 0;
	struct job *j;
	int spools;

	v.kind = name;
	v.type = url_type(name, xmpp_stanza_get_type(st));
	v.to = xmpp_stanza_get_to(st);
	v.from = xmpp_stanza_get_from(st);
	/* A URL the client refuses now, it refuses on every retry: the
	 * sender is answered at once and nothing is queued or spooled. */
	if (urltmpl_url(
		cf->callback_url, &v, url, sizeof(url), why, sizeof(why)) < 0) {
		struct wh_result r = refused(why);

		log_warnx("callback_url: %s, for a %s from %s: bounced, not "
			  "delivered",
		    why, name, v.from ? v.from : "?");
		answer_delivery(st, &r);
		return;
	}
	spools = sp != NULL && strcmp(name, "message") == 0;
	if ((j = job_new(st, spools ? url : NULL)) == NULL) {
		send_error(st, "wait", "resource-constraint", "out of memory");
		return;
	}
	if (spools && spool_queue_find(sp, url, v.from ? v.from : "")) {
		spool_job(j, 0, 0, "behind earlier ones of its sender and URL");
		job_free(j);
		return;
	}
	if ((text = wire_text(st, &len)) == NULL) {
		job_free(j);
		send_error(st, "wait", "resource-constraint", "out of memory");
		return;
	}
	if (wh_submit(url, j->id, text, len, j) < 0) {
		if (spools) {
			spool_job(j, 0, 0, "callback_queue_max reached");
		} else {
			log_warnx("delivery queue full (callback_queue_max "
				  "%lu): refusing a %s from %s",
			    cf->callback_queue_max, name,
			    v.from ? v.from : "?");
			send_error(st, "wait", "resource-constraint",
			    "too many deliveries waiting");
		}
		job_free(j);
	}
}

static void
on_delivered(void *job, const char *delivery_id, const struct wh_result *r)
{
	struct job *j = job;
	char what[200];

	(void)delivery_id;
	j->done = 1;
	if (j->msg != NULL) {
		retried(j, r);
	} else if (j->url != NULL && retryable(r)) {
		describe(r, what, sizeof(what));
		spool_job(j, 1, r->retry_after, what);
	} else {
		answer_delivery(j->st, r);
	}
	arm_spool();
}

/* Also called by wh_shutdown for deliveries that never ended. */
static void
free_job(void *job)
{
	struct job *j = job;

	/* A retry stays spooled; a first attempt is spooled now, to be
	 * made again after the restart (at least once: it may have
	 * reached the webhook already, under the same delivery id). */
	if (!j->done && j->msg != NULL)
		j->msg->q->busy = 0;
	else if (!j->done && j->url != NULL && sp != NULL)
		spool_job(j, 0, 0, "the bridge is stopping");
	job_free(j);
}

/* An iq reply or a receipt that no request waits for: was it for an id
 * this bridge never wrote? */
static void
note_stray(xmpp_stanza_t *st, const char *name, int is_error)
{
	const char *id = NULL, *what = NULL;

	if (strcmp(name, "iq") == 0) {
		id = xmpp_stanza_get_id(st);
		what = "an iq reply";
	} else if (strcmp(name, "message") == 0 && !is_error) {
		id = receipt_id(st);
		what = "a receipt";
	}
	if (id != NULL && !stray_was_sent(id))
		stray_seen(what, id, xmpp_stanza_get_from(st), cf->jid);
}

static void
on_stanza(xmpp_stanza_t *st, void *ud)
{
	const char *name = xmpp_stanza_get_name(st);
	const char *type = xmpp_stanza_get_type(st);
	const char *from = xmpp_stanza_get_from(st);
	const char *id = xmpp_stanza_get_id(st);
	struct pending *p = NULL;
	int is_error = type && strcmp(type, "error") == 0;
	/* Only this bridge may send from its domain (the server checks a
	 * component's from), so this stanza is one the bridge sent to
	 * itself.  Delivering it would hand the webhook its own output, and
	 * the webhook's answer would come back again: an endless loop. */
	int own = from != NULL && jid_is_under(from, cf->jid);

	(void)ud;
	if (name == NULL)
		return;
	if (strcmp(name, "iq") == 0 && is_ack(st))
		return;
	if (strcmp(name, "iq") == 0) {
		if (type &&
		    (strcmp(type, "get") == 0 || strcmp(type, "set") == 0)) {
			if (!own && deliverable(st))
				deliver(st);
			else
				answer_iq_request(st);
			return;
		}
		p = track_match(WAIT_IQ_REPLY, id, from);
	} else if (strcmp(name, "message") == 0) {
		p = track_match(
		    WAIT_RECEIPT, is_error ? id : receipt_id(st), from);
		/* A bounce before our ping came back: the answer. */
		if (p == NULL && is_error)
			p = track_match(WAIT_SENT, id, from);
	}
	if (p == NULL) {
		note_stray(st, name, is_error);
		if (own)
			log_warnx("%s from %s (id %s): from the bridge's own "
				  "domain, never delivered to the webhook",
			    name, from, id ? id : "-");
		else if (deliverable(st))
			deliver(st);
		else
			log_debug("%s from %s (id %s): no waiting request, "
				  "not delivered",
			    name, from ? from : "?", id ? id : "-");
		return;
	}
	answer_with_stanza(p, st, is_error);
	pending_free(p);
	arm_sweep();
}

/* Checks once that callback_url makes a URL our client can use. */
static int
check_callback_url(const struct conf *c, char *err, size_t errlen)
{
	static const struct urltmpl_values sample = {
	    "message", "chat", "user@example.org/res", "user@example.org/res"};
	char url[4096], why[XR_ERRLEN];

	if (urltmpl_url(c->callback_url, &sample, url, sizeof(url), why,
		sizeof(why)) < 0) {
		snprintf(err, errlen, "callback_url: %s", why);
		return -1;
	}
	return 0;
}

int
route_start(struct loop *loop, const struct conf *c, const struct privs *p,
    char *err, size_t errlen)
{
	static const struct listener_cbs lcbs = {on_frame, on_close, on_accept};
	static const struct xsess_cbs xcbs = {on_up, on_down, on_stanza};

	lp = loop;
	cf = c;
	stanza_global_init();
	started_ms = xr_now_ms();
	snprintf(ack_prefix, sizeof(ack_prefix), ACK_ID "%08lx-",
	    (unsigned long)xr_random_u32());
	if (c->callback_url != NULL &&
	    (check_callback_url(c, err, errlen) < 0 ||
		wh_init(lp, c, on_delivered, free_job, err, errlen) < 0 ||
		spool_start(c, p, err, errlen) < 0))
		return -1;
	pv = p;
	listener_set_limits(c->client_idle_timeout, c->max_pipelined);
	if (privs_socket_dir(p, c->socket, err, errlen) < 0 ||
	    listener_open(
		lp, c->socket, c->max_clients, &lcbs, NULL, err, errlen) < 0)
		return -1;
	if (privs_own_socket(p, c->socket, err, errlen) < 0) {
		listener_shutdown();
		return -1;
	}
	if (xsess_start(lp, c, &xcbs, NULL, err, errlen) < 0) {
		listener_shutdown();
		return -1;
	}
	return 0;
}

void
route_drain(void)
{
	draining = 1;
}

int
route_busy(void)
{
	return track_count() > 0;
}

void
route_stop(void)
{
	struct pending *p;

	while ((p = track_any()) != NULL) {
		answer_text(p->cl, p->seq, OUTCOME_UNAVAILABLE,
		    "service-unavailable", "the bridge is shutting down");
		pending_free(p);
	}
	/* Give the answers a moment to reach the responders. */
	for (int i = 0; i < 5 && listener_nclients() > 0; i++)
		loop_run_once(lp, 20);
	/* Deliveries hold stanzas of libstrophe's context: first. */
	wh_shutdown();
	spool_stop();
	xsess_stop();
	listener_shutdown();
	loop_timer_cancel(&sweep_timer);
	loop_timer_cancel(&ping_timer);
	loop_timer_cancel(&ack_timer);
	stanza_thread_done();
}
