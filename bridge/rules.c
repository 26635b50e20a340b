/*
 * Reply rules.  An iq get/set always gets exactly one answer; error and
 * result stanzas never get one; everything else is answered only when
 * the webhook says so (a stanza body, or an error status).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jid.h"
#include "rules.h"
#include "util.h"
#include "wire.h"

static const struct {
	int status;
	const char *type, *condition;
} status_errors[] = {
    {400, "modify", "bad-request"},
    {411, "modify", "bad-request"},
    {416, "modify", "bad-request"},
    {422, "modify", "bad-request"},
    {401, "auth", "not-authorized"},
    {511, "auth", "not-authorized"},
    {402, "auth", "payment-required"},
    {403, "auth", "forbidden"},
    {451, "auth", "forbidden"},
    {404, "cancel", "item-not-found"},
    {405, "cancel", "not-allowed"},
    {406, "modify", "not-acceptable"},
    {407, "auth", "registration-required"},
    {408, "wait", "remote-server-timeout"},
    {502, "wait", "remote-server-timeout"},
    {504, "wait", "remote-server-timeout"},
    {409, "cancel", "conflict"},
    {412, "cancel", "conflict"},
    {410, "cancel", "gone"},
    {413, "modify", "resource-constraint"},
    {414, "modify", "resource-constraint"},
    {431, "modify", "resource-constraint"},
    {415, "cancel", "feature-not-implemented"},
    {501, "cancel", "feature-not-implemented"},
    {423, "wait", "resource-constraint"},
    {429, "wait", "resource-constraint"},
    {507, "wait", "resource-constraint"},
    {500, "wait", "internal-server-error"},
    {503, "cancel", "service-unavailable"},
};

void
rules_status_error(int status, const char **type, const char **condition)
{
	for (size_t i = 0; i < sizeof(status_errors) / sizeof(status_errors[0]);
	     i++) {
		if (status_errors[i].status == status) {
			*type = status_errors[i].type;
			*condition = status_errors[i].condition;
			return;
		}
	}
	*type = "cancel";
	*condition = "undefined-condition";
}

static int
is_type(xmpp_stanza_t *st, const char *type)
{
	const char *t = xmpp_stanza_get_type(st);

	return t != NULL && strcmp(t, type) == 0;
}

static int
is_kind(xmpp_stanza_t *st, const char *kind)
{
	const char *n = xmpp_stanza_get_name(st);

	return n != NULL && strcmp(n, kind) == 0;
}

/* Addresses an answer: to the original sender, from its addressee. */
static void
address(xmpp_stanza_t *answer, xmpp_stanza_t *orig)
{
	const char *from = xmpp_stanza_get_from(orig);
	const char *to = xmpp_stanza_get_to(orig);

	xmpp_stanza_del_attribute(answer, "to");
	xmpp_stanza_del_attribute(answer, "from");
	if (from)
		xmpp_stanza_set_to(answer, from);
	if (to)
		xmpp_stanza_set_from(answer, to);
}

xmpp_stanza_t *
rules_error(xmpp_stanza_t *orig, const char *type, const char *condition,
    const char *text)
{
	xmpp_stanza_t *e;

	if (is_type(orig, "error") || is_type(orig, "result"))
		return NULL;
	if ((e = xmpp_stanza_reply_error(orig, type, condition, text)) == NULL)
		return NULL;
	/* The copied attributes include libstrophe's "lang" and the
	 * component stream's xmlns: neither belongs on the wire. */
	xmpp_stanza_del_attribute(e, "lang");
	xmpp_stanza_del_attribute(e, "xmlns");
	address(e, orig);
	return e;
}

/* An application/xmpp+xml body that holds one stanza of kind; or NULL. */
static xmpp_stanza_t *
body_stanza(xmpp_ctx_t *ctx, const struct wh_result *r, const char *kind)
{
	static const char type[] = "application/xmpp+xml";
	const char *ct = r->content_type, *p;
	xmpp_stanza_t *st;

	if (r->body == NULL || ct == NULL ||
	    strncasecmp(ct, type, sizeof(type) - 1) != 0 ||
	    (ct[sizeof(type) - 1] != '\0' && ct[sizeof(type) - 1] != ';' &&
		ct[sizeof(type) - 1] != ' '))
		return NULL;
	p = r->body + strspn(r->body, " \t\r\n");
	/* libstrophe's parser refuses an XML declaration: skip it. */
	if (strncmp(p, "<?xml", 5) == 0) {
		const char *end = strstr(p, "?>");

		if (end == NULL)
			return NULL;
		p = end + 2;
	}
	if ((st = xmpp_stanza_new_from_string(ctx, p)) == NULL)
		return NULL;
	if (!is_kind(st, kind)) {
		xmpp_stanza_release(st);
		return NULL;
	}
	wire_restore_lang(st);
	{
		const char *ns = xmpp_stanza_get_ns(st);

		/* The component stream's default namespace applies. */
		if (ns &&
		    (strcmp(ns, NS_CLIENT) == 0 ||
			strcmp(ns, NS_COMPONENT) == 0))
			xmpp_stanza_del_attribute(st, "xmlns");
	}
	return st;
}

/* Makes the webhook's stanza a reply to orig (the mod_rest rules). */
static void
shape_reply(xmpp_stanza_t *reply, xmpp_stanza_t *orig, const char *domain)
{
	const char *rfrom = xmpp_stanza_get_from(reply);
	char *keep = NULL, err[XR_ERRLEN];

	if (rfrom && jid_check(rfrom, err, sizeof(err)) == 0 &&
	    jid_is_under(rfrom, domain))
		keep = strdup(rfrom);
	address(reply, orig);
	if (keep) {
		xmpp_stanza_set_from(reply, keep);
		free(keep);
	}
	if (is_kind(orig, "iq")) {
		xmpp_stanza_set_id(reply, xmpp_stanza_get_id(orig));
		xmpp_stanza_set_type(reply,
		    xmpp_stanza_get_child_by_name(reply, "error") ? "error"
								  : "result");
	} else if (is_kind(orig, "message")) {
		xmpp_stanza_t *thread =
		    xmpp_stanza_get_child_by_name(orig, "thread");

		if (xmpp_stanza_get_type(reply) == NULL &&
		    xmpp_stanza_get_type(orig) != NULL)
			xmpp_stanza_set_type(reply, xmpp_stanza_get_type(orig));
		if (thread && !xmpp_stanza_get_child_by_name(reply, "thread")) {
			xmpp_stanza_t *copy = xmpp_stanza_copy(thread);

			if (copy) {
				xmpp_stanza_del_attribute(copy, "xmlns");
				xmpp_stanza_add_child(reply, copy);
				xmpp_stanza_release(copy);
			}
		}
	}
}

xmpp_stanza_t *
rules_result(xmpp_ctx_t *ctx, xmpp_stanza_t *orig)
{
	xmpp_stanza_t *res =
	    xmpp_iq_new(ctx, "result", xmpp_stanza_get_id(orig));

	if (res)
		address(res, orig);
	return res;
}

/* XEP-0184: <message><received xmlns='urn:xmpp:receipts' id='…'/></message> */
static xmpp_stanza_t *
receipt(xmpp_ctx_t *ctx, xmpp_stanza_t *orig)
{
	xmpp_stanza_t *msg, *rcv;
	char id[XR_ID_LEN + 1];

	if (xr_random_id(id) < 0 ||
	    (msg = xmpp_message_new(ctx, NULL, NULL, id)) == NULL)
		return NULL;
	if ((rcv = xmpp_stanza_new(ctx)) == NULL) {
		xmpp_stanza_release(msg);
		return NULL;
	}
	xmpp_stanza_set_name(rcv, "received");
	xmpp_stanza_set_ns(rcv, NS_RECEIPTS);
	xmpp_stanza_set_id(rcv, xmpp_stanza_get_id(orig));
	xmpp_stanza_add_child(msg, rcv);
	xmpp_stanza_release(rcv);
	address(msg, orig);
	return msg;
}

static int
wants_receipt(xmpp_stanza_t *orig)
{
	return is_kind(orig, "message") && xmpp_stanza_get_id(orig) != NULL &&
	    xmpp_stanza_get_child_by_name_and_ns(
		orig, "request", NS_RECEIPTS) != NULL;
}

int
rules_answer(xmpp_ctx_t *ctx, xmpp_stanza_t *orig, const struct wh_result *r,
    const char *domain, xmpp_stanza_t *out[RULES_MAX_ANSWERS])
{
	const char *kind = xmpp_stanza_get_name(orig);
	int is_request = is_kind(orig, "iq") &&
	    (is_type(orig, "get") || is_type(orig, "set"));
	xmpp_stanza_t *reply;

	if (kind == NULL || is_type(orig, "error") || is_type(orig, "result"))
		return 0;
	/* Every answer goes to orig's sender; to the bridge's own domain it
	 * would come back to the bridge as a new stanza: a loop. */
	if (xmpp_stanza_get_from(orig) != NULL &&
	    jid_is_under(xmpp_stanza_get_from(orig), domain))
		return 0;
	if (r->kind == WH_REFUSED) {
		/* cancel: trying again cannot help. */
		out[0] = rules_error(
		    orig, "cancel", "internal-server-error", r->error);
		return out[0] != NULL;
	}
	if (r->kind != WH_RESPONSE) {
		out[0] = rules_error(orig, "wait",
		    r->kind == WH_TIMEOUT ? "remote-server-timeout"
					  : "recipient-unavailable",
		    r->error);
		return out[0] != NULL;
	}
	reply = body_stanza(ctx, r, kind);
	if (r->status >= 200 && r->status <= 299) {
		int n = 0;

		if (reply != NULL) {
			shape_reply(reply, orig, domain);
			out[n++] = reply;
		} else if (is_request && (out[n] = rules_result(ctx, orig))) {
			n++;
		}
		if (wants_receipt(orig) && (out[n] = receipt(ctx, orig)))
			n++;
		return n;
	}
	if (reply != NULL) {
		shape_reply(reply, orig, domain);
		out[0] = reply;
		return 1;
	}
	{
		const char *type, *cond;
		char text[200];

		rules_status_error(r->status, &type, &cond);
		snprintf(text, sizeof(text), "%d%s%s", r->status,
		    r->reason && *r->reason ? " " : "",
		    r->reason ? r->reason : "");
		out[0] = rules_error(orig, type, cond, text);
		return out[0] != NULL;
	}
}
