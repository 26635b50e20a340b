/*
 * Incoming delivery (incoming.h): which stanzas go to the webhook, the
 * delivery jobs handed to the pool and what the sender is answered.  The
 * spool's retry policy is incoming_retry.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incoming.h"
#include "incoming_priv.h"
#include "jid.h"
#include "log.h"
#include "loop.h"
#include "rules.h"
#include "spool.h"
#include "stray.h"
#include "urltmpl.h"
#include "util.h"
#include "wire.h"

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

void
in_send_error(struct incoming *in, xmpp_stanza_t *orig, const char *type,
    const char *condition, const char *text)
{
	xmpp_stanza_t *e = rules_error(orig, type, condition, text);

	if (e != NULL)
		send_answer(in, e);
}

/* The reply rules (rules.c): what goes back to the sender. */
void
in_answer(struct incoming *in, xmpp_stanza_t *st, const struct wh_result *r)
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
	in_send_error(in, st, "cancel", "service-unavailable", NULL);
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
int
in_retryable(const struct wh_result *r)
{
	if (r->kind == WH_REFUSED)
		return 0;
	if (r->kind != WH_RESPONSE)
		return 1;
	return r->status == 408 || r->status == 429 || r->status == 500 ||
	    r->status == 502 || r->status == 503 || r->status == 504;
}

void
in_describe(const struct wh_result *r, char *buf, size_t size)
{
	if (r->kind == WH_RESPONSE)
		snprintf(buf, size, "%d%s%s", r->status,
		    r->reason && *r->reason ? " " : "",
		    r->reason ? r->reason : "");
	else
		snprintf(buf, size, "%s", r->error ? r->error : "failed");
}

/* The result of a delivery that can never be made (why), not tried. */
struct wh_result
in_refused(const char *why)
{
	struct wh_result r = {WH_REFUSED, 0, "", "", NULL, 0, why, 0};

	return r;
}

/* RFC 6120 defaults, so a URL never gets an empty {type}. */
const char *
in_url_type(const char *name, const char *type)
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

void
in_job_release(struct job *j)
{
	if (j == NULL)
		return;
	if (j->st != NULL)
		xmpp_stanza_release(j->st);
	free(j->url);
	free(j);
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
	v.type = in_url_type(name, xmpp_stanza_get_type(st));
	v.to = xmpp_stanza_get_to(st);
	v.from = xmpp_stanza_get_from(st);
	if (urltmpl_url(
		in->set.callback_url, &v, url, size, why, sizeof(why)) == 0)
		return 0;
	log_warnx("callback_url: %s, for a %s from %s: bounced, not delivered",
	    why, name, v.from ? v.from : "?");
	r = in_refused(why);
	in_answer(in, st, &r);
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
		in_send_error(
		    in, st, "wait", "resource-constraint", "out of memory");
		return;
	}
	if (spools && spool_queue_find(in->sp, url, from ? from : "")) {
		in_spool_job(
		    j, 0, 0, "behind earlier ones of its sender and URL");
		in_job_release(j);
		return;
	}
	if ((text = wire_text(st, &len)) == NULL) {
		in_job_release(j);
		in_send_error(
		    in, st, "wait", "resource-constraint", "out of memory");
		return;
	}
	if (in->pool.submit(url, j->id, text, len, j, in->ud) == 0)
		return;
	if (spools) {
		in_spool_job(j, 0, 0, "callback_queue_max reached");
	} else {
		log_warnx("delivery queue full (callback_queue_max %lu): "
			  "refusing a %s from %s",
		    in->set.queue_max, name, from ? from : "?");
		in_send_error(in, st, "wait", "resource-constraint",
		    "too many deliveries waiting");
	}
	in_job_release(j);
}

void
in_job_done(void *job, const struct wh_result *r)
{
	struct job *j = job;
	char what[200];

	j->done = 1;
	if (j->msg != NULL) {
		in_retried(j, r);
	} else if (j->url != NULL && in_retryable(r)) {
		in_describe(r, what, sizeof(what));
		in_spool_job(j, 1, r->retry_after, what);
	} else {
		in_answer(j->in, j->st, r);
	}
	in_arm_spool(j->in);
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
		in_spool_job(j, 0, 0, "the bridge is stopping");
	in_job_release(j);
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
	if (c->callback_url != NULL &&
	    in_spool_start(in, c, p, err, errlen) < 0) {
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
