#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "auth.h"
#include "claim.h"
#include "log.h"
#include "util.h"

struct asker {
	struct auth *auth;
	struct client *cl;
	uint32_t seq;
	admit_answer_fn answer;
	void *ud;
};

static void
refuse(const struct asker *k, enum outcome o, const char *condition,
    const char *text)
{
	struct answer a = {.outcome = o, .condition = condition, .text = text};

	k->answer(k->cl, k->seq, &a, k->ud);
}

static void
answer_denied(const struct asker *k, const struct auth_request *rq,
    const struct auth_result *res)
{
	static const enum outcome outcomes[] = {[AUTH_OK] = OUTCOME_REJECTED,
	    [AUTH_UNAUTHORIZED] = OUTCOME_UNAUTHORIZED,
	    [AUTH_FORBIDDEN] = OUTCOME_FORBIDDEN,
	    [AUTH_THROTTLED] = OUTCOME_THROTTLED};
	struct answer a = {.outcome = outcomes[res->verdict],
	    .text = res->text,
	    .challenge = res->challenge[0] != '\0' ? res->challenge : NULL,
	    .retry_after = res->retry_after};

	log_info("refused %s from %s (credential %s, address %s): %s", rq->kind,
	    rq->from, res->name[0] ? res->name : "-",
	    rq->remote_addr ? rq->remote_addr : "-", res->text);
	k->answer(k->cl, k->seq, &a, k->ud);
}

/* A frame whose stanza is not what its fields say: never written. */
static void
answer_bad_stanza(
    const struct asker *k, const struct frame *f, const struct stanza_error *e)
{
	struct answer a = {.outcome = OUTCOME_REJECTED,
	    .condition = e->status == 403 ? "forbidden"
		: e->status == 413        ? "policy-violation"
					  : "bad-request",
	    .text = e->text,
	    .status = (unsigned long)e->status};

	log_warnx("refused a submitted %.16s (id %.64s, from %.200s): %s",
	    frame_get(f, FIELD_KIND), frame_get(f, FIELD_ID),
	    frame_get(f, FIELD_FROM), e->text);
	if (e->status == 500)
		refuse(k, OUTCOME_BUSY, "resource-constraint", e->text);
	else
		k->answer(k->cl, k->seq, &a, k->ud);
}

/* 0 if the sender's credentials allow st; else it was answered. */
static int
authorized(
    const struct asker *k, const struct frame *f, const struct stanza *st)
{
	struct auth_request rq;
	struct auth_result res;

	rq.authorization = frame_get(f, FIELD_AUTHORIZATION);
	rq.remote_user = frame_get(f, FIELD_REMOTE_USER);
	rq.remote_addr = frame_get(f, FIELD_REMOTE_ADDR);
	rq.kind = frame_get(f, FIELD_KIND);
	rq.from = st->from; /* as it will be written */
	auth_check(k->auth, &rq, &res);
	if (res.verdict == AUTH_OK)
		return 0;
	answer_denied(k, &rq, &res);
	return -1;
}

int
admit(const struct conf *cf, struct auth *au, struct client *cl,
    const struct frame *f, struct out_request *rq, struct stanza *st,
    admit_answer_fn answer, void *ud)
{
	const struct asker k = {au, cl, f->seq, answer, ud};
	const char *wait = frame_get(f, FIELD_WAIT);
	const char *tmo = frame_get(f, FIELD_TIMEOUT);
	unsigned long long timeout_ms = cf->iq_timeout * 1000ULL;
	struct stanza_error se;

	if (!frame_get(f, FIELD_KIND) || !frame_get(f, FIELD_ID) ||
	    !frame_get(f, FIELD_TO) || !frame_get(f, FIELD_FROM) ||
	    !frame_get(f, FIELD_STANZA) || !wait) {
		refuse(&k, OUTCOME_REJECTED, "bad-request",
		    "submit frame lacks kind, id, to, from, stanza or wait");
		return -1;
	}
	memset(rq, 0, sizeof(*rq));
	if (wait_parse(wait, &rq->what) < 0) {
		char why[XR_ERRLEN];

		snprintf(why, sizeof(why), "submit frame: unknown wait '%.32s'",
		    wait);
		refuse(&k, OUTCOME_REJECTED, "bad-request", why);
		return -1;
	}
	if (claim_check(cf, f, st, &se) < 0) {
		answer_bad_stanza(&k, f, &se);
		return -1;
	}
	if (authorized(&k, f, st) < 0) {
		stanza_free(st);
		return -1;
	}
	if (tmo != NULL &&
	    xr_parse_uint(tmo, 1, cf->iq_max_timeout * 1000ULL, &timeout_ms) <
		0)
		timeout_ms = cf->iq_max_timeout * 1000ULL;
	rq->cl = cl;
	rq->seq = f->seq;
	rq->kind = frame_get(f, FIELD_KIND);
	rq->id = frame_get(f, FIELD_ID);
	rq->to = frame_get(f, FIELD_TO);
	rq->xml = st->xml;
	rq->len = st->xml_len;
	rq->timeout_ms = (int64_t)timeout_ms;
	return 0;
}
