/*
 * Routing.  The invariant: every SUBMIT frame gets exactly one OUTCOME,
 * unless its responder went away first.  A "sent" outcome is given when
 * libstrophe has written the stanza to the socket; the write FIFO below
 * mirrors libstrophe's send queue one entry per queued stanza, in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http.h"
#include "jid.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "privs.h"
#include "route.h"
#include "rules.h"
#include "track.h"
#include "urltmpl.h"
#include "util.h"
#include "webhook.h"
#include "wire.h"
#include "xmpp.h"

#define NS_PING "urn:xmpp:ping"

/* One stanza handed to libstrophe; cl is NULL when nobody waits for the
 * write (a reply we made, or a request that waits for a reply). */
struct written {
	struct client *cl;
	uint32_t seq;
	struct written *next;
};

static const struct conf *cf;
static const struct privs *pv;
static struct written *wq_head, *wq_tail;
static struct loop_timer sweep_timer;

static void sweep(void *ud);

/*
 * Queues a stanza for writing and records it in the FIFO, or fails with
 * nothing queued; raw is NULL to send st instead.
 */
static int
send_recorded(struct client *cl, uint32_t seq, const char *raw, size_t len,
    xmpp_stanza_t *st)
{
	struct written *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	if ((raw ? xsess_send_raw(raw, len) : xsess_send(st)) < 0) {
		free(w);
		return -1;
	}
	w->cl = cl;
	w->seq = seq;
	if (wq_tail)
		wq_tail->next = w;
	else
		wq_head = w;
	wq_tail = w;
	return 0;
}

static struct written *
wq_pop(void)
{
	struct written *w = wq_head;

	if (w) {
		wq_head = w->next;
		if (wq_head == NULL)
			wq_tail = NULL;
	}
	return w;
}

static void
arm_sweep(void)
{
	int64_t next = track_next_deadline();

	if (next > 0)
		loop_timer_arm(&sweep_timer, next, sweep, NULL);
	else
		loop_timer_cancel(&sweep_timer);
}

static void
answer_text(struct client *cl, uint32_t seq, enum outcome o,
    const char *condition, const char *text)
{
	if (cl != NULL)
		listener_send_outcome(cl, seq, o, condition, text);
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

static void
on_frame(struct client *cl, const struct frame *f, void *ud)
{
	const char *kind = frame_get(f, FIELD_KIND);
	const char *id = frame_get(f, FIELD_ID);
	const char *to = frame_get(f, FIELD_TO);
	const char *stanza = frame_get(f, FIELD_STANZA);
	const char *wait = frame_get(f, FIELD_WAIT);
	const char *tmo = frame_get(f, FIELD_TIMEOUT);
	unsigned long long timeout_ms = cf->iq_timeout * 1000ULL;
	int waits;
	enum wait_for what = WAIT_IQ_REPLY;

	const char *from = frame_get(f, FIELD_FROM);
	struct auth_request rq;
	struct auth_result res;

	(void)ud;
	if (!kind || !id || !to || !from || !stanza || !wait) {
		answer_text(cl, f->seq, OUTCOME_REJECTED, "bad-request",
		    "submit frame lacks kind, id, to, from, stanza or wait");
		return;
	}
	rq.authorization = frame_get(f, FIELD_AUTHORIZATION);
	rq.remote_user = frame_get(f, FIELD_REMOTE_USER);
	rq.remote_addr = frame_get(f, FIELD_REMOTE_ADDR);
	rq.kind = kind;
	rq.from = from;
	auth_check(&rq, &res);
	if (res.verdict != AUTH_OK) {
		answer_denied(cl, f->seq, &rq, &res);
		return;
	}
	if (tmo != NULL &&
	    xr_parse_uint(tmo, 1, cf->iq_max_timeout * 1000ULL, &timeout_ms) <
		0)
		timeout_ms = cf->iq_max_timeout * 1000ULL;
	waits = strcmp(wait, "sent") != 0;
	if (waits && strcmp(wait, "receipt") == 0)
		what = WAIT_RECEIPT;
	if (!xsess_is_up()) {
		answer_text(cl, f->seq, OUTCOME_UNAVAILABLE,
		    "service-unavailable", xsess_down_reason());
		return;
	}
	if (waits &&
	    track_add(cl, f->seq, what, id, to,
		xr_now_ms() + (int64_t)timeout_ms) < 0) {
		if (errno == EEXIST)
			answer_text(cl, f->seq, OUTCOME_REJECTED, "conflict",
			    "a request with this id to this address is "
			    "already waiting");
		else
			answer_text(cl, f->seq, OUTCOME_BUSY,
			    "resource-constraint", "bridge out of memory");
		return;
	}
	if (send_recorded(waits ? NULL : cl, f->seq, stanza,
		f->flen[FIELD_STANZA], NULL) < 0) {
		if (waits)
			pending_free(track_match(what, id, to));
		answer_text(cl, f->seq, OUTCOME_BUSY, "resource-constraint",
		    "bridge out of memory");
		return;
	}
	log_debug("%s %s to %s queued", kind, id, to);
	if (waits)
		arm_sweep();
}

static void
on_close(struct client *cl, void *ud)
{
	(void)ud;
	track_drop_client(cl);
	for (struct written *w = wq_head; w; w = w->next) {
		if (w->cl == cl)
			w->cl = NULL;
	}
}

/* ---- XMPP to responders ---- */

static void
on_written(unsigned long n, void *ud)
{
	(void)ud;
	while (n-- > 0) {
		struct written *w = wq_pop();

		if (w == NULL)
			break;
		answer_text(w->cl, w->seq, OUTCOME_SENT, NULL, NULL);
		free(w);
	}
}

static void
on_up(void *ud)
{
	(void)ud;
}

static void
on_down(const char *why, void *ud)
{
	struct written *w;
	struct pending *p;

	(void)ud;
	/* libstrophe's queue was dropped: none of these were written. */
	while ((w = wq_pop()) != NULL) {
		answer_text(w->cl, w->seq, OUTCOME_UNAVAILABLE,
		    "service-unavailable", why);
		free(w);
	}
	while ((p = track_any()) != NULL) {
		answer_text(p->cl, p->seq, OUTCOME_UNAVAILABLE,
		    "service-unavailable",
		    "the XMPP session was lost before an answer arrived");
		pending_free(p);
	}
	arm_sweep();
}

static void
sweep(void *ud)
{
	struct pending *p;
	int64_t now = xr_now_ms();

	(void)ud;
	while ((p = track_expired(now)) != NULL) {
		answer_text(p->cl, p->seq, OUTCOME_TIMEOUT,
		    "remote-server-timeout", "no reply in time");
		pending_free(p);
	}
	arm_sweep();
}

/* Type, condition and text of an error stanza's <error/>, as found. */
struct stanza_err {
	const char *type, *condition;
	char *text; /* libstrophe-allocated */
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
	frame_put_str(&fo, FIELD_OUTCOME,
	    outcome_name(is_error ? OUTCOME_ERROR : OUTCOME_REPLY));
	frame_put(&fo, FIELD_STANZA, text, len);
	if (is_error) {
		frame_put_str(&fo, FIELD_ERRTYPE, se.type ? se.type : "cancel");
		frame_put_str(&fo, FIELD_CONDITION,
		    se.condition ? se.condition : "undefined-condition");
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
	if (send_recorded(NULL, 0, NULL, 0, st) < 0)
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

static void
deliver(xmpp_stanza_t *st)
{
	const char *name = xmpp_stanza_get_name(st);
	const char *type = xmpp_stanza_get_type(st);
	struct urltmpl_values v;
	char url[4096], *text;
	size_t len = 0;
	xmpp_stanza_t *job;

	/* RFC 6120 defaults, so a URL never gets an empty {type}. */
	if (type == NULL)
		type = strcmp(name, "message") == 0
		    ? "normal"
		    : (strcmp(name, "presence") == 0 ? "available" : "");
	v.kind = name;
	v.type = type;
	v.to = xmpp_stanza_get_to(st);
	v.from = xmpp_stanza_get_from(st);
	if (urltmpl_expand(cf->callback_url, &v, url, sizeof(url)) < 0) {
		log_warnx("callback_url too long once filled in for %s",
		    v.from ? v.from : "?");
		send_error(st, "wait", "internal-server-error",
		    "callback URL too long");
		return;
	}
	if ((text = wire_text(st, &len)) == NULL) {
		send_error(st, "wait", "resource-constraint", "out of memory");
		return;
	}
	job = xmpp_stanza_clone(st);
	if (wh_submit(url, text, len, job) < 0) {
		xmpp_stanza_release(job);
		log_warnx("delivery queue full (callback_queue_max %lu): "
			  "refusing a %s from %s",
		    cf->callback_queue_max, name, v.from ? v.from : "?");
		send_error(st, "wait", "resource-constraint",
		    "too many deliveries waiting");
	}
}

static void
on_delivered(void *job, const char *delivery_id, const struct wh_result *r)
{
	xmpp_stanza_t *out[RULES_MAX_ANSWERS];
	int n = rules_answer(xsess_ctx(), job, r, cf->jid, out);

	(void)delivery_id;
	for (int i = 0; i < n; i++)
		send_answer(out[i]);
}

static void
free_job(void *job)
{
	xmpp_stanza_release(job);
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

	(void)ud;
	if (name == NULL)
		return;
	if (strcmp(name, "iq") == 0) {
		if (type &&
		    (strcmp(type, "get") == 0 || strcmp(type, "set") == 0)) {
			if (deliverable(st))
				deliver(st);
			else
				answer_iq_request(st);
			return;
		}
		p = track_match(WAIT_IQ_REPLY, id, from);
	} else if (strcmp(name, "message") == 0) {
		p = track_match(
		    WAIT_RECEIPT, is_error ? id : receipt_id(st), from);
	}
	if (p == NULL) {
		if (deliverable(st))
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
	struct http_url u;

	if (urltmpl_expand(c->callback_url, &sample, url, sizeof(url)) < 0 ||
	    http_url_parse(url, &u, why, sizeof(why)) < 0) {
		snprintf(
		    err, errlen, "callback_url: %s", url[0] ? why : "too long");
		return -1;
	}
	return 0;
}

int
route_start(
    const struct conf *c, const struct privs *p, char *err, size_t errlen)
{
	static const struct listener_cbs lcbs = {on_frame, on_close, on_accept};
	static const struct xsess_cbs xcbs = {
	    on_up, on_down, on_stanza, on_written};

	cf = c;
	if (c->callback_url != NULL &&
	    (check_callback_url(c, err, errlen) < 0 ||
		wh_init(c, on_delivered, free_job, err, errlen) < 0))
		return -1;
	pv = p;
	if (privs_socket_dir(p, c->socket, err, errlen) < 0 ||
	    listener_open(c->socket, c->max_clients, &lcbs, NULL, err, errlen) <
		0)
		return -1;
	if (privs_own_socket(p, c->socket, err, errlen) < 0) {
		listener_shutdown();
		return -1;
	}
	if (xsess_start(c, &xcbs, NULL, err, errlen) < 0) {
		listener_shutdown();
		return -1;
	}
	return 0;
}

void
route_stop(void)
{
	struct written *w;
	struct pending *p;

	while ((p = track_any()) != NULL) {
		answer_text(p->cl, p->seq, OUTCOME_UNAVAILABLE,
		    "service-unavailable", "the bridge is shutting down");
		pending_free(p);
	}
	/* Give the answers a moment to reach the responders. */
	for (int i = 0; i < 5 && listener_nclients() > 0; i++)
		loop_run_once(20);
	/* Deliveries hold stanzas of libstrophe's context: first. */
	wh_shutdown();
	xsess_stop();
	while ((w = wq_pop()) != NULL)
		free(w);
	listener_shutdown();
	loop_timer_cancel(&sweep_timer);
}
