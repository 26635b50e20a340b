/*
 * The spool's retry policy (incoming.h): a message the webhook could not
 * take is spooled and retried with back-off (callback_retry_min..max, a
 * Retry-After as the floor), one at a time per (URL, sender), until it is
 * taken or retry_max_age has passed; then its sender gets the error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "incoming.h"
#include "incoming_priv.h"
#include "log.h"
#include "loop.h"
#include "spool.h"
#include "urltmpl.h"
#include "util.h"
#include "wire.h"

#define SPOOL_PAUSE_MS 250 /* how often a paused spool looks again */

static void spool_tick(void *ud);

void
in_arm_spool(struct incoming *in)
{
	int64_t next = in->sp ? spool_next_due(in->sp) : 0;

	if (next > 0)
		loop_timer_arm(in->lp, &in->spool_timer, next, spool_tick, in);
	else
		loop_timer_cancel(&in->spool_timer);
}

/* Milliseconds m may still be retried for (retry_max_age). */
static int64_t
age_left_ms(const struct incoming *in, const struct spool_msg *m)
{
	return m->first + (int64_t)in->set.retry_max_age * 1000 -
	    loop_wall(in->lp);
}

/* Seconds since m arrived, for the log. */
static long long
age_s(const struct incoming *in, const struct spool_msg *m)
{
	return (long long)((loop_wall(in->lp) - m->first) / 1000);
}

/* Makes q due after the back-off for m, but no later than m's age. */
static void
retry_later(struct incoming *in, struct spool_queue *q,
    const struct spool_msg *m, unsigned long retry_after)
{
	int64_t wait = spool_backoff_ms(in->set.retry_min, in->set.retry_max,
	    m->attempts, retry_after, xr_random_u32());
	int64_t left = age_left_ms(in, m);

	if (wait > left)
		wait = left > 0 ? left : 0;
	spool_schedule(in->sp, q, loop_now(in->lp) + wait);
	log_info("delivery %s: next try in %lld ms (%u so far; %zu spooled, "
		 "%llu bytes)",
	    m->id, (long long)wait, m->attempts, spool_count(in->sp),
	    spool_bytes(in->sp));
}

/* The next message of q, if any, is tried now. */
static void
go_on(struct incoming *in, struct spool_queue *q)
{
	if (q != NULL && !q->busy)
		spool_schedule(in->sp, q, loop_now(in->lp));
}

/* What the spool file of j's message records besides its body. */
static void
job_meta(const struct job *j, struct spool_meta *m)
{
	const char *to = xmpp_stanza_get_to(j->st);
	const char *from = xmpp_stanza_get_from(j->st);

	xr_strlcpy(m->id, j->id, sizeof(m->id));
	m->seq = j->seq;
	m->first = j->first;
	m->kind = "message";
	m->type = in_url_type("message", xmpp_stanza_get_type(j->st));
	m->to = to ? to : "";
	m->from = from ? from : "";
}

/*
 * Spools j's message (attempts made so far; why it waits) and makes its
 * queue due if it is new.  When it cannot be spooled, the sender gets
 * wait/resource-constraint at once.
 */
void
in_spool_job(struct job *j, unsigned attempts, unsigned long retry_after,
    const char *why)
{
	struct incoming *in = j->in;
	struct spool_meta m;
	struct spool_msg *msg = NULL;
	char err[XR_ERRLEN], *text;
	size_t len = 0;
	int rc = -1;

	job_meta(j, &m);
	if ((text = wire_text(j->st, &len)) == NULL)
		snprintf(err, sizeof(err), "out of memory");
	else
		rc = spool_put(
		    in->sp, j->url, &m, text, len, &msg, err, sizeof(err));
	free(text);
	if (rc != 0) {
		if (rc == SPOOL_FULL)
			log_warnx("delivery %s: spool full (spool_max_bytes "
				  "%lu): the message from %s is bounced",
			    j->id, in->set.spool_max_bytes, m.from);
		else
			log_warnx("delivery %s: not spooled (%s): the message "
				  "from %s is bounced",
			    j->id, err, m.from);
		in_send_error(in, j->st, "wait", "resource-constraint",
		    rc == SPOOL_FULL ? "spool full" : "spool write failed");
		return;
	}
	msg->attempts = attempts;
	log_info("delivery %s: spooled (%s), message %" PRIu64 " from %s",
	    j->id, why, m.seq, m.from);
	if (!msg->q->busy && msg->q->due == 0)
		retry_later(in, msg->q, msg, retry_after);
	in_arm_spool(in);
}

/* Makes q due after callback_retry_min: a pause, not a failed try. */
static void
pause_queue(struct incoming *in, struct spool_queue *q)
{
	spool_schedule(
	    in->sp, q, loop_now(in->lp) + (int64_t)in->set.retry_min * 1000);
}

/* A job for the retry of m, whose body is body; NULL (and m dealt with)
 * when none can be made. */
static struct job *
retry_job(struct incoming *in, struct spool_msg *m, const char *body)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		pause_queue(in, m->q);
		return NULL;
	}
	if ((j->st = xmpp_stanza_new_from_string(in->link.ctx(in->ud), body)) ==
	    NULL) {
		free(j);
		go_on(
		    in, spool_set_aside(in->sp, m, "its body is not a stanza"));
		return NULL;
	}
	j->in = in;
	xr_strlcpy(j->id, m->id, sizeof(j->id));
	j->msg = m;
	return j;
}

/* Tries the first message of q; q is neither busy nor due. */
static void
attempt(struct incoming *in, struct spool_queue *q)
{
	struct spool_msg *m = TAILQ_FIRST(&q->msgs);
	struct job *j;
	struct http_url u;
	char err[XR_ERRLEN], *body;
	size_t len = 0;

	if (in->pool.inflight(in->ud) >= in->set.max_inflight &&
	    in->pool.queued(in->ud) >= in->set.queue_max / 2) {
		/* Retries leave half of callback_queue_max to new stanzas,
		 * and wait for room rather than be refused. */
		pause_queue(in, q);
		return;
	}
	if ((body = spool_read(in->sp, m, &len, err, sizeof(err))) == NULL) {
		go_on(in, spool_set_aside(in->sp, m, err));
		return;
	}
	if ((j = retry_job(in, m, body)) == NULL) {
		free(body);
		return;
	}
	q->busy = 1;
	/* Its URL, filled in at start, may be one no try can use. */
	if (http_url_parse(q->url, &u, err, sizeof(err)) < 0) {
		struct wh_result r = in_refused(q->url[0] != '\0'
			? err
			: "callback URL too long once filled in");

		free(body);
		in_retried(j, &r);
		in_job_release(j);
		return;
	}
	m->attempts++;
	if (in->pool.submit(q->url, m->id, body, len, j, in->ud) < 0) {
		q->busy = 0;
		m->attempts--;
		in_job_release(j);
		pause_queue(in, q);
	}
}

static void
spool_tick(void *ud)
{
	struct incoming *in = ud;
	struct spool_queue *q;
	int64_t now = loop_now(in->lp);

	if (!in->link.is_up(in->ud)) {
		loop_timer_arm(in->lp, &in->spool_timer, now + SPOOL_PAUSE_MS,
		    spool_tick, in);
		return;
	}
	while ((q = spool_due(in->sp, now)) != NULL)
		attempt(in, q);
	in_arm_spool(in);
}

/* The outcome of a spooled message's retry. */
void
in_retried(struct job *j, const struct wh_result *r)
{
	struct incoming *in = j->in;
	struct spool_msg *m = j->msg;
	struct spool_queue *q = m->q;
	char what[200];

	q->busy = 0;
	in_describe(r, what, sizeof(what));
	if (in_retryable(r) && age_left_ms(in, m) > 0) {
		retry_later(in, q, m, r->retry_after);
		return;
	}
	if (r->kind == WH_REFUSED)
		log_warnx("delivery %s: refused (%s) after %lld s in the "
			  "spool: the sender gets the error",
		    m->id, what, age_s(in, m));
	else if (in_retryable(r))
		log_info("delivery %s: giving up after %u tries over %lld s "
			 "(retry_max_age %lu; last: %s): the sender gets the "
			 "error",
		    m->id, m->attempts, age_s(in, m), in->set.retry_max_age,
		    what);
	else
		log_info("delivery %s: answered %s after %lld s in the spool",
		    m->id, what, age_s(in, m));
	in_answer(in, j->st, r);
	go_on(in, spool_remove(in->sp, m));
}

/*
 * Fills in a loaded message's URL from today's callback_url.  One that
 * no try can use (too long for the buffer: then "") is still loaded, so
 * that its sender is answered when its turn comes (attempt).
 */
static int
loaded_url(const struct spool_meta *m, char *url, size_t size, void *ud)
{
	const struct incoming *in = ud;
	struct urltmpl_values v;
	char why[XR_ERRLEN];

	v.kind = m->kind;
	v.type = m->type;
	v.to = m->to;
	v.from = m->from;
	if (urltmpl_url(in->set.callback_url, &v, url, size, why, sizeof(why)) <
	    0)
		log_warnx("spool: message %s: %s; it is bounced when its turn "
			  "comes (from %s)",
		    m->id, why, m->from);
	return 0;
}

/* Opens spool_dir (made 0700 for the daemon's user) and loads it. */
int
in_spool_start(struct incoming *in, const struct conf *c, const struct privs *p,
    char *err, size_t errlen)
{
	long n;

	if (c->spool_max_bytes == 0) {
		log_info("spool_max_bytes 0: no spool; a failed message "
			 "delivery is bounced at once");
		return 0;
	}
	in->sp = spool_open(c->spool_dir, c->spool_max_bytes,
	    p->drop ? p->uid : (uid_t)-1, p->gid, err, errlen);
	if (in->sp == NULL)
		return -1;
	if ((n = spool_load(
		 in->sp, loaded_url, in, loop_now(in->lp), err, errlen)) < 0) {
		spool_close(in->sp);
		in->sp = NULL;
		return -1;
	}
	log_info("spool %s: %ld message(s) to deliver, %llu bytes, in %zu "
		 "queue(s)",
	    c->spool_dir, n, spool_bytes(in->sp), spool_nqueues(in->sp));
	in_arm_spool(in);
	return 0;
}
