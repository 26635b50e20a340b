/*
 * Incoming delivery (incoming.h): which stanzas go to the webhook, the
 * delivery jobs handed to the pool, and the spool's retry policy.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "incoming.h"
#include "jid.h"
#include "log.h"
#include "loop.h"
#include "rules.h"
#include "spool.h"
#include "stray.h"
#include "urltmpl.h"
#include "util.h"
#include "wire.h"

#define SPOOL_PAUSE_MS 250 /* how often a paused spool looks again */

/* What incoming reads of the configuration: its own copies. */
struct in_settings {
	char *jid;
	char *callback_url; /* NULL: no webhook, for good (a restart only) */
	unsigned long stanzas, addresses; /* CONF_KIND_*, CONF_ADDR_* */
	unsigned long retry_max_age, retry_min, retry_max; /* s */
	unsigned long max_inflight, queue_max;
	unsigned long spool_max_bytes; /* a restart only */
};

struct incoming {
	struct loop *lp;
	struct stray *stray; /* the ids written, shared with outgoing */
	struct in_settings set;
	struct in_link link;
	struct in_pool pool;
	void *ud;
	struct spool *sp; /* NULL: no spooling */
	struct loop_timer spool_timer;
};

/* One delivery handed to the pool. */
struct job {
	struct incoming *in;
	xmpp_stanza_t *st;      /* for the reply rules */
	char id[XR_ID_LEN + 1]; /* X-XMPP-Rest-Delivery */
	char *url;              /* a message's first attempt: for the spool */
	uint64_t seq;           /* arrival order */
	int64_t first;          /* unix ms of the arrival */
	struct spool_msg *msg;  /* a retry: the spooled message */
	int done;               /* in_job_done ran */
};

static void spool_tick(void *ud);
static void retried(struct job *j, const struct wh_result *r);

/* ---- answering the sender ---- */

/* Sends a stanza we built, and releases it. */
static void
send_answer(struct incoming *in, xmpp_stanza_t *st)
{
	stray_sent(in->stray, xmpp_stanza_get_id(st));
	if (in->link.send(st, in->ud) < 0)
		log_warnx("an answer to %s was lost: XMPP session down",
		    xmpp_stanza_get_to(st) ? xmpp_stanza_get_to(st) : "?");
	xmpp_stanza_release(st);
}

static void
send_error(struct incoming *in, xmpp_stanza_t *orig, const char *type,
    const char *condition, const char *text)
{
	xmpp_stanza_t *e = rules_error(orig, type, condition, text);

	if (e != NULL)
		send_answer(in, e);
}

/* The reply rules (rules.c): what goes back to the sender. */
static void
answer_delivery(
    struct incoming *in, xmpp_stanza_t *st, const struct wh_result *r)
{
	xmpp_stanza_t *out[RULES_MAX_ANSWERS];
	int n = rules_answer(in->link.ctx(in->ud), st, r, in->set.jid, out);

	for (int i = 0; i < n; i++)
		send_answer(in, out[i]);
}

/* An iq get/set for the component itself that no webhook takes: answer
 * it, as RFC 6120 §8.2.3 requires.  Pings get a result, the rest
 * service-unavailable. */
static void
answer_iq_request(struct incoming *in, xmpp_stanza_t *st)
{
	xmpp_stanza_t *child = xmpp_stanza_get_children(st);

	while (child && !xmpp_stanza_is_tag(child))
		child = xmpp_stanza_get_next(child);
	if (child && xmpp_stanza_get_ns(child) &&
	    strcmp(xmpp_stanza_get_ns(child), NS_PING) == 0 &&
	    strcmp(xmpp_stanza_get_type(st), "get") == 0) {
		xmpp_stanza_t *res = rules_result(in->link.ctx(in->ud), st);

		if (res != NULL)
			send_answer(in, res);
		return;
	}
	send_error(in, st, "cancel", "service-unavailable", NULL);
}

/* Do callback_stanzas and callback_addresses let st through? */
static int
deliverable(const struct incoming *in, xmpp_stanza_t *st)
{
	const char *name = xmpp_stanza_get_name(st);
	const char *to = xmpp_stanza_get_to(st);
	unsigned long kind = 0, form;

	if (in->set.callback_url == NULL || name == NULL)
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
	return (in->set.stanzas & kind) && (in->set.addresses & form);
}

/* ---- results ---- */

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

/* ---- jobs ---- */

static struct job *
job_new(struct incoming *in, xmpp_stanza_t *st, const char *url)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL || xr_random_id(j->id) < 0 ||
	    (url != NULL && (j->url = strdup(url)) == NULL)) {
		free(j);
		return NULL;
	}
	j->in = in;
	j->st = xmpp_stanza_clone(st);
	j->seq = in->sp ? spool_next_seq(in->sp) : 0;
	j->first = loop_wall(in->lp);
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

/* ---- the spool ---- */

static void
arm_spool(struct incoming *in)
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
	m->type = url_type("message", xmpp_stanza_get_type(j->st));
	m->to = to ? to : "";
	m->from = from ? from : "";
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
		send_error(in, j->st, "wait", "resource-constraint",
		    rc == SPOOL_FULL ? "spool full" : "spool write failed");
		return;
	}
	msg->attempts = attempts;
	log_info("delivery %s: spooled (%s), message %" PRIu64 " from %s",
	    j->id, why, m.seq, m.from);
	if (!msg->q->busy && msg->q->due == 0)
		retry_later(in, msg->q, msg, retry_after);
	arm_spool(in);
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
	struct spool_msg *m = q->head;
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
		struct wh_result r = refused(q->url[0] != '\0'
			? err
			: "callback URL too long once filled in");

		free(body);
		retried(j, &r);
		job_free(j);
		return;
	}
	m->attempts++;
	if (in->pool.submit(q->url, m->id, body, len, j, in->ud) < 0) {
		q->busy = 0;
		m->attempts--;
		job_free(j);
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
	arm_spool(in);
}

/* The outcome of a spooled message's retry. */
static void
retried(struct job *j, const struct wh_result *r)
{
	struct incoming *in = j->in;
	struct spool_msg *m = j->msg;
	struct spool_queue *q = m->q;
	char what[200];

	q->busy = 0;
	describe(r, what, sizeof(what));
	if (retryable(r) && age_left_ms(in, m) > 0) {
		retry_later(in, q, m, r->retry_after);
		return;
	}
	if (r->kind == WH_REFUSED)
		log_warnx("delivery %s: refused (%s) after %lld s in the "
			  "spool: the sender gets the error",
		    m->id, what, age_s(in, m));
	else if (retryable(r))
		log_info("delivery %s: giving up after %u tries over %lld s "
			 "(retry_max_age %lu; last: %s): the sender gets the "
			 "error",
		    m->id, m->attempts, age_s(in, m), in->set.retry_max_age,
		    what);
	else
		log_info("delivery %s: answered %s after %lld s in the spool",
		    m->id, what, age_s(in, m));
	answer_delivery(in, j->st, r);
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
static int
spool_start(struct incoming *in, const struct conf *c, const struct privs *p,
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
	arm_spool(in);
	return 0;
}

/* ---- delivering ---- */

/* A URL the client refuses now, it refuses on every retry: the sender
 * is answered at once and nothing is queued or spooled.  0 with url. */
static int
fill_url(struct incoming *in, xmpp_stanza_t *st, char *url, size_t size)
{
	const char *name = xmpp_stanza_get_name(st);
	struct urltmpl_values v;
	char why[XR_ERRLEN];
	struct wh_result r;

	v.kind = name;
	v.type = url_type(name, xmpp_stanza_get_type(st));
	v.to = xmpp_stanza_get_to(st);
	v.from = xmpp_stanza_get_from(st);
	if (urltmpl_url(
		in->set.callback_url, &v, url, size, why, sizeof(why)) == 0)
		return 0;
	log_warnx("callback_url: %s, for a %s from %s: bounced, not delivered",
	    why, name, v.from ? v.from : "?");
	r = refused(why);
	answer_delivery(in, st, &r);
	return -1;
}

static void
deliver(struct incoming *in, xmpp_stanza_t *st)
{
	const char *name = xmpp_stanza_get_name(st);
	const char *from = xmpp_stanza_get_from(st);
	char url[4096], *text;
	size_t len = 0;
	struct job *j;
	int spools = in->sp != NULL && strcmp(name, "message") == 0;

	if (fill_url(in, st, url, sizeof(url)) < 0)
		return;
	if ((j = job_new(in, st, spools ? url : NULL)) == NULL) {
		send_error(
		    in, st, "wait", "resource-constraint", "out of memory");
		return;
	}
	if (spools && spool_queue_find(in->sp, url, from ? from : "")) {
		spool_job(j, 0, 0, "behind earlier ones of its sender and URL");
		job_free(j);
		return;
	}
	if ((text = wire_text(st, &len)) == NULL) {
		job_free(j);
		send_error(
		    in, st, "wait", "resource-constraint", "out of memory");
		return;
	}
	if (in->pool.submit(url, j->id, text, len, j, in->ud) == 0)
		return;
	if (spools) {
		spool_job(j, 0, 0, "callback_queue_max reached");
	} else {
		log_warnx("delivery queue full (callback_queue_max %lu): "
			  "refusing a %s from %s",
		    in->set.queue_max, name, from ? from : "?");
		send_error(in, st, "wait", "resource-constraint",
		    "too many deliveries waiting");
	}
	job_free(j);
}

void
in_job_done(void *job, const struct wh_result *r)
{
	struct job *j = job;
	char what[200];

	j->done = 1;
	if (j->msg != NULL) {
		retried(j, r);
	} else if (j->url != NULL && retryable(r)) {
		describe(r, what, sizeof(what));
		spool_job(j, 1, r->retry_after, what);
	} else {
		answer_delivery(j->in, j->st, r);
	}
	arm_spool(j->in);
}

void
in_job_free(void *job)
{
	struct job *j = job;

	/* A retry stays spooled; a first attempt is spooled now, to be
	 * made again after the restart (at least once: it may have
	 * reached the webhook already, under the same delivery id). */
	if (!j->done && j->msg != NULL)
		j->msg->q->busy = 0;
	else if (!j->done && j->url != NULL && j->in->sp != NULL)
		spool_job(j, 0, 0, "the bridge is stopping");
	job_free(j);
}

void
in_stanza(struct incoming *in, xmpp_stanza_t *st)
{
	const char *name = xmpp_stanza_get_name(st);
	const char *type = xmpp_stanza_get_type(st);
	const char *from = xmpp_stanza_get_from(st);
	const char *id = xmpp_stanza_get_id(st);
	/* Only this bridge may send from its domain (the server checks a
	 * component's from), so this stanza is one the bridge sent to
	 * itself.  Delivering it would hand the webhook its own output, and
	 * the webhook's answer would come back again: an endless loop. */
	int own = from != NULL && jid_is_under(from, in->set.jid);

	if (name == NULL)
		return;
	if (strcmp(name, "iq") == 0 && type &&
	    (strcmp(type, "get") == 0 || strcmp(type, "set") == 0)) {
		if (!own && deliverable(in, st))
			deliver(in, st);
		else
			answer_iq_request(in, st);
	} else if (own) {
		log_warnx("%s from %s (id %s): from the bridge's own domain, "
			  "never delivered to the webhook",
		    name, from, id ? id : "-");
	} else if (deliverable(in, st)) {
		deliver(in, st);
	} else {
		log_debug("%s from %s (id %s): no waiting request, not "
			  "delivered",
		    name, from ? from : "?", id ? id : "-");
	}
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

struct incoming *
in_new(struct loop *lp, struct stray *sy, const struct conf *c,
    const struct privs *p, const struct in_link *link,
    const struct in_pool *pool, void *ud, char *err, size_t errlen)
{
	struct incoming *in;

	if (c->callback_url != NULL && check_callback_url(c, err, errlen) < 0)
		return NULL;
	if ((in = calloc(1, sizeof(*in))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	in->lp = lp;
	in->stray = sy;
	in->set.spool_max_bytes = c->spool_max_bytes;
	if ((in->set.jid = strdup(c->jid)) == NULL ||
	    (c->callback_url != NULL &&
		(in->set.callback_url = strdup(c->callback_url)) == NULL) ||
	    in_reconfigure(in, c) < 0) {
		snprintf(err, errlen, "out of memory");
		in_free(in);
		return NULL;
	}
	in->link = *link;
	in->pool = *pool;
	in->ud = ud;
	if (c->callback_url != NULL && spool_start(in, c, p, err, errlen) < 0) {
		in_free(in);
		return NULL;
	}
	return in;
}

void
in_free(struct incoming *in)
{
	if (in == NULL)
		return;
	loop_timer_cancel(&in->spool_timer);
	if (in->sp != NULL)
		log_info("spool: %zu message(s) kept for the next start",
		    spool_count(in->sp));
	spool_close(in->sp);
	free(in->set.jid);
	free(in->set.callback_url);
	free(in);
}

int
in_reconfigure(struct incoming *in, const struct conf *c)
{
	struct in_settings *set = &in->set;

	/* A reload may change the URL, never whether there is one. */
	if (set->callback_url != NULL && c->callback_url != NULL &&
	    strcmp(set->callback_url, c->callback_url) != 0) {
		char *url = strdup(c->callback_url);

		if (url == NULL)
			return -1;
		free(set->callback_url);
		set->callback_url = url;
	}
	set->stanzas = c->callback_stanzas;
	set->addresses = c->callback_addresses;
	set->retry_max_age = c->retry_max_age;
	set->retry_min = c->callback_retry_min;
	set->retry_max = c->callback_retry_max;
	set->max_inflight = c->callback_max_inflight;
	set->queue_max = c->callback_queue_max;
	return 0;
}

void
in_stats(const struct incoming *in, struct in_stats *st)
{
	st->in_flight = in->set.callback_url ? in->pool.inflight(in->ud) : 0;
	st->spool_messages = in->sp ? spool_count(in->sp) : 0;
	st->spool_bytes = in->sp ? spool_bytes(in->sp) : 0;
	st->spool_queues = in->sp ? spool_nqueues(in->sp) : 0;
}
