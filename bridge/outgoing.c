/*
 * The outgoing pipeline (outgoing.h): the FIFO of held and unacknowledged
 * requests lives in track.c; this file decides when they are written,
 * what covers them, and what a broken stream means for them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "log.h"
#include "loop.h"
#include "outgoing.h"
#include "stanza_answer.h"
#include "stray.h"
#include "util.h"
#include "wire.h"

/* Every bridge's acknowledgement pings have ids ACK_ID "RANDOM-N". */
#define ACK_ID "xr-ack-"

/* A ping unanswered this long means a stream we cannot trust. */
#define ACK_TIMEOUT_MS 10000
/* Pings are pipelined, so a stanza waits for the round trip of the ping
 * right behind it, not for the one before; a few in flight are enough,
 * and each return sends the next one. */
#define PINGS_IN_FLIGHT 8

struct outgoing {
	struct loop *lp;
	struct stray *stray; /* the ids written, shared with incoming */
	struct out_link link;
	void *ud;
	struct track *tr;
	char *jid;
	unsigned long queue_max, queue_wait;
	char ack_prefix[32];      /* "xr-ack-RANDOM-": our pings' ids */
	unsigned long next_batch; /* the ping that covers new writes */
	unsigned long last_acked; /* pings up to this one came back */
	int unpinged;             /* written since the last ping */
	int draining;             /* SIGTERM: take no new requests */
	struct loop_timer ping_timer, ack_timer, sweep_timer;
	unsigned long sessions_lost, pings_sent;
};

static void sweep(void *ud);
static void send_ping(void *ud);

static int
is_up(const struct outgoing *o)
{
	return o->link.is_up(o->ud);
}

static void
answer(struct outgoing *o, const struct pending *p, const struct answer *a)
{
	o->link.answer(p->cl, p->seq, a, o->ud);
}

static void
answer_text(struct outgoing *o, struct client *cl, uint32_t seq,
    enum outcome oc, const char *condition, const char *text)
{
	struct answer a = {.outcome = oc, .condition = condition, .text = text};

	o->link.answer(cl, seq, &a, o->ud);
}

/* Answers p and frees it; p is out of the tracker already. */
static void
finish(struct outgoing *o, struct pending *p, enum outcome oc,
    const char *condition, const char *text)
{
	answer_text(o, p->cl, p->seq, oc, condition, text);
	pending_free(p);
}

static void
arm_sweep(struct outgoing *o)
{
	int64_t next = track_next_deadline(o->tr);

	if (next > 0)
		loop_timer_arm(o->lp, &o->sweep_timer, next, sweep, o);
	else
		loop_timer_cancel(&o->sweep_timer);
}

struct outgoing *
out_new(struct loop *lp, struct stray *sy, const struct out_link *link,
    void *ud, const struct out_settings *s)
{
	struct outgoing *o = calloc(1, sizeof(*o));

	if (o == NULL || (o->tr = track_new()) == NULL ||
	    (o->jid = strdup(s->jid)) == NULL) {
		if (o != NULL)
			track_free(o->tr);
		free(o);
		return NULL;
	}
	o->lp = lp;
	o->stray = sy;
	o->link = *link;
	o->ud = ud;
	o->queue_max = s->queue_max;
	o->queue_wait = s->queue_wait;
	o->next_batch = 1;
	snprintf(o->ack_prefix, sizeof(o->ack_prefix), ACK_ID "%08lx-",
	    (unsigned long)xr_random_u32());
	return o;
}

void
out_free(struct outgoing *o)
{
	if (o == NULL)
		return;
	loop_timer_cancel(&o->ping_timer);
	loop_timer_cancel(&o->ack_timer);
	loop_timer_cancel(&o->sweep_timer);
	track_free(o->tr);
	free(o->jid);
	free(o);
}

void
out_set_limits(
    struct outgoing *o, unsigned long queue_max, unsigned long queue_wait)
{
	o->queue_max = queue_max;
	o->queue_wait = queue_wait;
}

/* ---- writing, and knowing the server took it ---- */

static void
ack_timeout(void *ud)
{
	struct outgoing *o = ud;

	log_warnx("the XMPP server did not return our acknowledgement ping "
		  "within %d s: reconnecting",
	    ACK_TIMEOUT_MS / 1000);
	o->link.reconnect(o->ud);
}

/* 1 while a stanza in flight at a break waits to be written again or
 * acknowledged: then stanzas go out one at a time. */
static int
suspects_left(const struct outgoing *o)
{
	for (struct pending *p = track_fifo_head(o->tr); p;
	     p = track_fifo_next(p))
		if (p->alone)
			return 1;
	return 0;
}

/* The only stanza in flight, or NULL when none or several are. */
static struct pending *
lone_in_flight(const struct outgoing *o)
{
	struct pending *lone = NULL;

	for (struct pending *p = track_fifo_head(o->tr); p;
	     p = track_fifo_next(p)) {
		if (p->state != P_UNACKED)
			continue;
		if (lone != NULL)
			return NULL;
		lone = p;
	}
	return lone;
}

/* Writes every HELD request, in order, while the session is up (one at a
 * time, each behind its own ping, while there are suspects). */
static void
write_held(struct outgoing *o)
{
	int wrote = 0, one_by_one = suspects_left(o);

	for (struct pending *p = track_fifo_head(o->tr); p && is_up(o);
	     p = track_fifo_next(p)) {
		if (one_by_one && p->state == P_UNACKED)
			break; /* its ping has not come back yet */
		if (p->state != P_HELD)
			continue;
		if (o->link.write(p->raw, p->rawlen, o->ud) < 0)
			break;
		stray_sent(o->stray, p->id);
		p->state = P_UNACKED;
		p->batch = o->next_batch;
		p->hold_until = 0;
		wrote = 1;
		if (one_by_one)
			break;
	}
	if (wrote) {
		o->unpinged = 1;
		/* At the end of this turn of the loop: one ping for all the
		 * frames that arrived together. */
		loop_timer_arm(
		    o->lp, &o->ping_timer, loop_now(o->lp), send_ping, o);
	}
}

static void
send_ping(void *ud)
{
	struct outgoing *o = ud;
	char iq[256];
	int n;

	if (!o->unpinged || !is_up(o) ||
	    o->next_batch - 1 - o->last_acked >= PINGS_IN_FLIGHT)
		return;
	/* In a write of its own, behind the stanzas' write: joined with
	 * them, Prosody can handle both in one turn and send the ping's
	 * answer before its copy of a stanza to the addressee, and a crash
	 * in between would lose a stanza already answered "sent". */
	n = snprintf(iq, sizeof(iq),
	    "<iq type='get' id='%s%lu' from='%s' to='%s'>"
	    "<ping xmlns='" NS_PING "'/></iq>",
	    o->ack_prefix, o->next_batch, o->jid, o->jid);
	if (n < 0 || (size_t)n >= sizeof(iq) ||
	    o->link.write_alone(iq, (size_t)n, o->ud) < 0)
		return;
	if (o->next_batch - 1 == o->last_acked) /* the oldest in flight now */
		loop_timer_arm(o->lp, &o->ack_timer,
		    loop_now(o->lp) + ACK_TIMEOUT_MS, ack_timeout, o);
	o->next_batch++;
	o->pings_sent++;
	o->unpinged = 0;
}

/* Our ping number n came back: the server has what was written before. */
static void
on_ack(struct outgoing *o, unsigned long n)
{
	struct pending *p, *next;

	if (n <= o->last_acked || n >= o->next_batch)
		return; /* from before a reconnect */
	o->last_acked = n;
	if (o->next_batch - 1 > o->last_acked)
		loop_timer_arm(o->lp, &o->ack_timer,
		    loop_now(o->lp) + ACK_TIMEOUT_MS, ack_timeout, o);
	else
		loop_timer_cancel(&o->ack_timer);
	for (p = track_fifo_head(o->tr); p; p = next) {
		next = track_fifo_next(p);
		if (p->state != P_UNACKED || p->batch > n)
			continue;
		if (p->what == WAIT_SENT) {
			track_remove(o->tr, p);
			finish(o, p, OUTCOME_SENT, NULL, NULL);
		} else {
			track_acked(o->tr, p);
		}
	}
	write_held(o); /* the next suspect, if any */
	send_ping(o);
	arm_sweep(o);
}

/* 1 if s is one of our pings coming back (and handled as such), or the
 * answer to another bridge's ping (counted as stray). */
static int
is_ack(struct outgoing *o, xmpp_stanza_t *s)
{
	const char *id = xmpp_stanza_get_id(s);
	const char *from = xmpp_stanza_get_from(s);
	const char *type = xmpp_stanza_get_type(s);
	size_t plen = strlen(o->ack_prefix);
	unsigned long long n;

	if (id == NULL || strncmp(id, ACK_ID, sizeof(ACK_ID) - 1) != 0 ||
	    from == NULL || !jid_equal(from, o->jid))
		return 0;
	if (strncmp(id, o->ack_prefix, plen) != 0) {
		/* Another bridge's ping, or its return, routed to us: a ping
		 * is still answered, as any other. */
		int is_get = type && strcmp(type, "get") == 0;

		stray_seen(o->stray,
		    is_get ? "an acknowledgement ping" : "an acknowledgement",
		    id, from, o->jid);
		return !is_get;
	}
	if (xr_parse_uint(id + plen, 1, ~0UL, &n) == 0)
		on_ack(o, (unsigned long)n);
	return 1;
}

/* ---- taking requests ---- */

/* Answers now what cannot be held: 1 if it did. */
static int
cannot_hold(struct outgoing *o, struct client *cl, uint32_t seq)
{
	const char *why_down = is_up(o) ? "" : o->link.down_reason(o->ud);
	char why[XR_ERRLEN];

	if (o->draining) {
		answer_text(o, cl, seq, OUTCOME_UNAVAILABLE,
		    "service-unavailable", "the bridge is shutting down");
		return 1;
	}
	if (!is_up(o) && o->queue_wait == 0) {
		answer_text(o, cl, seq, OUTCOME_UNAVAILABLE,
		    "service-unavailable", why_down);
		return 1;
	}
	if (track_queued(o->tr) < o->queue_max)
		return 0;
	snprintf(why, sizeof(why), "%s; %lu requests already wait (queue_max)",
	    is_up(o) ? "the XMPP server is slow to take stanzas" : why_down,
	    track_queued(o->tr));
	answer_text(o, cl, seq, is_up(o) ? OUTCOME_BUSY : OUTCOME_UNAVAILABLE,
	    "service-unavailable", why);
	return 1;
}

void
out_submit(struct outgoing *o, const struct out_request *rq)
{
	int64_t now = loop_now(o->lp);

	if (cannot_hold(o, rq->cl, rq->seq))
		return;
	if (track_add(o->tr, rq->cl, rq->seq, rq->what, rq->id, rq->to, rq->xml,
		rq->len, now + rq->timeout_ms,
		is_up(o) ? 0 : now + (int64_t)o->queue_wait * 1000) < 0) {
		if (errno == EEXIST)
			answer_text(o, rq->cl, rq->seq, OUTCOME_REJECTED,
			    "conflict",
			    "a request with this id to this address is "
			    "already waiting");
		else
			answer_text(o, rq->cl, rq->seq, OUTCOME_BUSY,
			    "resource-constraint", "bridge out of memory");
		return;
	}
	log_debug("%s %s to %s %s", rq->kind, rq->id, rq->to,
	    is_up(o) ? "queued" : "held until the session is back");
	write_held(o);
	arm_sweep(o);
}

void
out_drain(struct outgoing *o)
{
	o->draining = 1;
}

void
out_drop_client(struct outgoing *o, const struct client *cl)
{
	track_drop_client(o->tr, cl);
}

void
out_give_up(struct outgoing *o, const char *why)
{
	struct pending *p;

	while ((p = track_any(o->tr)) != NULL)
		finish(o, p, OUTCOME_UNAVAILABLE, "service-unavailable", why);
	arm_sweep(o);
}

void
out_stats(const struct outgoing *o, struct out_stats *st)
{
	st->in_bridge = track_count(o->tr);
	st->queued = track_queued(o->tr);
	st->sessions_lost = o->sessions_lost;
	st->pings_sent = o->pings_sent;
}

/* ---- the session's ups and downs ---- */

void
out_session_up(struct outgoing *o)
{
	write_held(o);
}

/* The stream error blamed what was written: what was in flight is
 * suspect, and what was in flight twice is given up.  So is a stanza
 * written alone after a break, with nothing beside it: the culprit. */
static void
blame_in_flight(struct outgoing *o, const char *condition)
{
	struct pending *p, *next, *lone = lone_in_flight(o);
	unsigned long suspects = 0;
	char why[XR_ERRLEN];

	for (p = track_fifo_head(o->tr); p; p = next) {
		int culprit = p == lone && p->alone;

		next = track_fifo_next(p);
		if (p->state != P_UNACKED)
			continue;
		p->alone = 1;
		if (++p->breaks < 2 && !culprit) {
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
		track_remove(o->tr, p);
		finish(o, p, OUTCOME_STREAM_CLOSED, condition, why);
	}
	if (suspects > 0)
		log_warnx("the stream error (%s) blames what was written: the "
			  "%lu stanza(s) in flight are written again one at a "
			  "time",
		    condition, suspects);
}

/*
 * The stream broke with no stream error we could read.  A server that
 * closes the stream for a stanza resets the connection too; the bridge
 * reads a stream error that came before the reset (xmpp.c's spare_fd),
 * but one the reset discarded is gone.  So what was in flight is written
 * again one at a time, to be found out by the next error, without
 * counting against it; and a suspect of an earlier error, alone in
 * flight, is blamed as if the error had been read.
 */
static void
silent_break(struct outgoing *o)
{
	const struct pending *lone = lone_in_flight(o);

	if (lone != NULL && lone->breaks > 0) {
		blame_in_flight(
		    o, "closed without a stream error we could read");
		return;
	}
	for (struct pending *p = track_fifo_head(o->tr); p;
	     p = track_fifo_next(p))
		if (p->state == P_UNACKED)
			p->alone = 1;
}

void
out_session_down(
    struct outgoing *o, const char *why, const char *stream_error, int blames)
{
	struct pending *p;

	o->sessions_lost++;
	/* A stream error that blames nothing (the server said why, and it
	 * was not what we wrote) changes nothing. */
	if (blames)
		blame_in_flight(o, stream_error);
	else if (stream_error == NULL)
		silent_break(o);
	/* libstrophe's queue was dropped and no ping will come back: what
	 * was written but not acknowledged is written again later. */
	o->last_acked = o->next_batch - 1;
	o->unpinged = 0;
	loop_timer_cancel(&o->ping_timer);
	loop_timer_cancel(&o->ack_timer);
	track_requeue(o->tr, loop_now(o->lp) + (int64_t)o->queue_wait * 1000);
	while ((p = track_take_acked(o->tr)) != NULL)
		finish(o, p, OUTCOME_UNAVAILABLE, "service-unavailable",
		    "the XMPP session was lost before an answer arrived");
	log_info("XMPP session down (%s): %lu requests wait for it", why,
	    track_queued(o->tr));
	arm_sweep(o);
}

static void
sweep(void *ud)
{
	struct outgoing *o = ud;
	struct pending *p;
	int64_t now = loop_now(o->lp);
	char why[XR_ERRLEN];

	while ((p = track_expired(o->tr, now)) != NULL) {
		/* Never written: the session is down, whichever wait ran
		 * out first, and the client may try again. */
		if (p->state == P_HELD) {
			snprintf(why, sizeof(why),
			    "%s; the request waited for it as long as it "
			    "could (queue_wait %lu s)",
			    o->link.down_reason(o->ud), o->queue_wait);
			finish(o, p, OUTCOME_UNAVAILABLE, "service-unavailable",
			    why);
		} else {
			finish(o, p, OUTCOME_TIMEOUT, "remote-server-timeout",
			    p->what == WAIT_SENT
				? "the XMPP server did not take it in time"
				: "no reply in time");
		}
	}
	arm_sweep(o);
}

/* ---- answers from the server ---- */

/* An iq reply or a receipt that no request waits for: was it for an id
 * this bridge never wrote? */
static void
note_stray(
    const struct outgoing *o, xmpp_stanza_t *st, const char *name, int is_error)
{
	const char *id = NULL, *what = NULL;

	if (strcmp(name, "iq") == 0) {
		id = xmpp_stanza_get_id(st);
		what = "an iq reply";
	} else if (strcmp(name, "message") == 0 && !is_error) {
		id = receipt_id(st);
		what = "a receipt";
	}
	if (id != NULL && !stray_was_sent(o->stray, id))
		stray_seen(
		    o->stray, what, id, xmpp_stanza_get_from(st), o->jid);
}

/* The request st answers, out of the tracker, or NULL. */
static struct pending *
match(struct outgoing *o, xmpp_stanza_t *st, const char *name, int is_error)
{
	const char *id = xmpp_stanza_get_id(st);
	const char *from = xmpp_stanza_get_from(st);
	struct pending *p = NULL;

	if (strcmp(name, "iq") == 0)
		return track_match(o->tr, WAIT_IQ_REPLY, id, from);
	if (strcmp(name, "message") != 0)
		return NULL;
	p = track_match(
	    o->tr, WAIT_RECEIPT, is_error ? id : receipt_id(st), from);
	/* A bounce before our ping came back: the answer. */
	if (p == NULL && is_error)
		p = track_match(o->tr, WAIT_SENT, id, from);
	return p;
}

int
out_take_stanza(struct outgoing *o, xmpp_stanza_t *st)
{
	const char *name = xmpp_stanza_get_name(st);
	const char *type = xmpp_stanza_get_type(st);
	int is_error = type && strcmp(type, "error") == 0;
	struct stanza_answer sa;
	struct pending *p;

	if (name == NULL)
		return 0;
	if (strcmp(name, "iq") == 0) {
		if (is_ack(o, st))
			return 1;
		if (type &&
		    (strcmp(type, "get") == 0 || strcmp(type, "set") == 0))
			return 0; /* a request to us, not an answer */
	}
	if ((p = match(o, st, name, is_error)) == NULL) {
		note_stray(o, st, name, is_error);
		return 0;
	}
	if (stanza_answer_build(st, is_error, &sa) == 0)
		answer(o, p, &sa.a);
	else
		answer_text(o, p->cl, p->seq, OUTCOME_BUSY,
		    "resource-constraint", "bridge out of memory");
	stanza_answer_free(&sa);
	pending_free(p);
	arm_sweep(o);
	return 1;
}
