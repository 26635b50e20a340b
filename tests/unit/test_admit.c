/*
 * Admission (bridge/admit.c, with claim.c and auth.c behind it): which
 * SUBMIT frames become requests for the outgoing pipeline, what the
 * others are answered, and how an answer is framed and counted
 * (bridge/answer.c).  The frames are built and decoded with proto.c, as
 * a peer of the socket would send them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "auth.h"
#include "log.h"
#include "loop.h"
#include "t.h"

#define JID "rest.example"

static struct conf c;
static struct loop *lp;

/* The answers admission gave, as the route would send them. */
static struct {
	int n;
	uint32_t seq;
	enum outcome outcome;
	char condition[64], text[512], challenge[256];
	unsigned long status;
} heard;

static void
on_answer(struct client *cl, uint32_t seq, const struct answer *a, void *ud)
{
	(void)cl;
	(void)ud;
	heard.n++;
	heard.seq = seq;
	heard.outcome = a->outcome;
	snprintf(heard.condition, sizeof(heard.condition), "%s",
	    a->condition ? a->condition : "");
	snprintf(heard.text, sizeof(heard.text), "%s", a->text ? a->text : "");
	snprintf(heard.challenge, sizeof(heard.challenge), "%s",
	    a->challenge ? a->challenge : "");
	heard.status = a->status;
}

/* One field of a frame; NULL ends the list. */
struct fv {
	enum field tag;
	const char *v;
};

#define MESSAGE                                                      \
	"<message xmlns='jabber:client' to='alice@example' id='m1'>" \
	"<body>hi</body></message>"

/* A SUBMIT frame of a message from the bridge's domain, with the fields
 * of extra replacing or adding to its own (a NULL value drops one). */
static int
build(struct frame *f, const struct fv *extra)
{
	struct fv fields[FIELD_MAX] = {{FIELD_KIND, "message"},
	    {FIELD_ID, "m1"}, {FIELD_TO, "alice@example"}, {FIELD_FROM, JID},
	    {FIELD_STANZA, MESSAGE}, {FIELD_WAIT, "sent"}};
	size_t n = 6;
	struct frame_out fo = {0};
	char err[256];
	ssize_t used;

	for (; extra != NULL && extra->tag != 0; extra++) {
		size_t i;

		for (i = 0; i < n && fields[i].tag != extra->tag; i++)
			;
		fields[i] = *extra;
		if (i == n)
			n++;
	}
	frame_begin(&fo, FRAME_SUBMIT, 42);
	for (size_t i = 0; i < n; i++)
		frame_put_str(&fo, fields[i].tag, fields[i].v);
	if (frame_finish(&fo, err, sizeof(err)) < 0 ||
	    (used = frame_decode(fo.b.data, fo.b.len, f, err, sizeof(err))) <=
		0) {
		fprintf(stderr, "frame: %s\n", err);
		frame_out_free(&fo);
		return -1;
	}
	frame_out_free(&fo);
	return 0;
}

/* The frame and stanza an admitted request points into: kept until the
 * next submit. */
static struct frame cur_f;
static struct stanza cur_st;

static void
release(void)
{
	stanza_free(&cur_st);
	frame_clear(&cur_f);
}

/* Admits a frame with extra's fields; 0 if it became a request. */
static int
submit(struct auth *au, const struct fv *extra, struct out_request *rq)
{
	release();
	memset(&heard, 0, sizeof(heard));
	if (build(&cur_f, extra) < 0)
		return -2;
	return admit(&c, au, NULL, &cur_f, rq, &cur_st, on_answer, NULL);
}

static void
test_admitted(struct auth *au)
{
	struct out_request rq;
	const struct fv iq[] = {{FIELD_KIND, "iq"}, {FIELD_WAIT, "reply"},
	    {FIELD_STANZA,
		"<iq xmlns='jabber:client' to='alice@example' id='m1' "
		"type='get'><ping xmlns='urn:xmpp:ping'/></iq>"},
	    {FIELD_TYPE, "get"}, {FIELD_TIMEOUT, "5000"}, {0, NULL}};
	const struct fv long_wait[] = {{FIELD_TIMEOUT, "99999999"}, {0, NULL}};

	T_EQ_INT(submit(au, NULL, &rq), 0, "a whole, true frame is admitted");
	T_EQ_INT(heard.n, 0, "and not answered here");
	T_OK(rq.seq == 42 && rq.what == WAIT_SENT && strcmp(rq.id, "m1") == 0 &&
		strcmp(rq.to, "alice@example") == 0,
	    "as a request with the frame's seq, wait, id and addressee");
	T_EQ_INT(rq.timeout_ms, (int64_t)c.iq_timeout * 1000,
	    "with iq_timeout when the frame names no timeout");
	T_EQ_INT(submit(au, iq, &rq), 0, "an iq get is admitted");
	T_OK(rq.what == WAIT_IQ_REPLY && rq.timeout_ms == 5000,
	    "waiting for its reply, for the frame's timeout");
	T_EQ_INT(submit(au, long_wait, &rq), 0,
	    "a frame asking for too long a wait is admitted");
	T_EQ_INT(rq.timeout_ms, (int64_t)c.iq_max_timeout * 1000,
	    "for iq_max_timeout");
}

static void
test_refused(struct auth *au)
{
	struct out_request rq;
	const struct fv no_wait[] = {{FIELD_WAIT, NULL}, {0, NULL}};
	const struct fv bad_wait[] = {{FIELD_WAIT, "forever"}, {0, NULL}};
	const struct fv other_id[] = {{FIELD_ID, "m2"}, {0, NULL}};
	const struct fv foreign[] = {
	    {FIELD_FROM, "mallory@evil.example"}, {0, NULL}};
	const struct fv not_xml[] = {{FIELD_STANZA, "<message"}, {0, NULL}};

	T_EQ_INT(submit(au, no_wait, &rq), -1, "a frame without WAIT: refused");
	T_OK(heard.n == 1 && heard.seq == 42 &&
		heard.outcome == OUTCOME_REJECTED &&
		strcmp(heard.condition, "bad-request") == 0,
	    "answered once, rejected, bad-request");
	T_HAS(heard.text, "lacks kind, id, to, from, stanza or wait",
	    "naming the fields a frame needs");
	T_EQ_INT(
	    submit(au, bad_wait, &rq), -1, "an unknown WAIT word: refused");
	T_HAS(heard.text, "unknown wait 'forever'", "naming the word");
	T_EQ_INT(submit(au, other_id, &rq), -1,
	    "a frame whose ID is not the stanza's: refused");
	T_OK(heard.outcome == OUTCOME_REJECTED && heard.status == 400,
	    "rejected, 400");
	T_HAS(heard.text, "the stanza's id is 'm1', the frame's is 'm2'",
	    "saying which field differs");
	T_EQ_INT(submit(au, foreign, &rq), -1,
	    "a FROM outside the bridge's domain: refused");
	T_OK(heard.status == 403 && strcmp(heard.condition, "forbidden") == 0,
	    "403, forbidden");
	T_EQ_INT(submit(au, not_xml, &rq), -1, "a stanza that does not parse");
	T_OK(heard.status == 400 && strcmp(heard.condition, "bad-request") == 0,
	    "400, bad-request");
}

static void
test_unauthorized(void)
{
	struct out_request rq;
	struct conf strict = c;
	char err[256], path[] = "/nonexistent/xmpp-rest.credentials";
	struct auth *au;

	strict.auth = CONF_AUTH_BEARER;
	strict.credentials_file = path;
	if ((au = auth_new(lp, &strict, err, sizeof(err))) == NULL) {
		fprintf(stderr, "auth_new: %s\n", err);
		return;
	}
	T_EQ_INT(submit(au, NULL, &rq), -1,
	    "with bearer auth and no credentials: refused");
	T_EQ_INT(heard.outcome, OUTCOME_UNAUTHORIZED, "as unauthorized");
	T_HAS(heard.challenge, "Bearer realm=\"" JID "\"",
	    "with the challenge the responder sends as WWW-Authenticate");
	auth_free(au);
}

/* An answer frame carries what the responder needs, and is counted. */
static void
test_answer_frames(void)
{
	struct answer a = {.outcome = OUTCOME_THROTTLED,
	    .text = "slow down",
	    .retry_after = 7};
	struct answer_tally t = {{0}};
	struct frame_out fo = {0};
	struct frame f;
	char err[256];

	T_EQ_INT(answer_frame(&fo, 9, &a, err, sizeof(err)), 0,
	    "an answer is framed");
	T_OK(frame_decode(fo.b.data, fo.b.len, &f, err, sizeof(err)) > 0 &&
		f.type == FRAME_OUTCOME && f.seq == 9,
	    "as an OUTCOME frame for its seq");
	T_EQ_STR(
	    frame_get(&f, FIELD_OUTCOME), "throttled", "naming the outcome");
	T_EQ_STR(frame_get(&f, FIELD_RETRY), "7", "with Retry-After's value");
	T_EQ_STR(frame_get(&f, FIELD_TEXT), "slow down", "and the text");
	frame_clear(&f);
	frame_out_free(&fo);
	answer_send(NULL, 9, &a, &t);
	answer_send(NULL, 10, &a, NULL);
	T_EQ_INT(t.n[OUTCOME_THROTTLED], 1,
	    "an answer whose responder went away is still counted; one "
	    "sent uncounted is not");
}

int
main(void)
{
	struct auth *none;
	char err[256];

	log_init("test_admit", 0, LOG_LVL_ERROR);
	stanza_global_init();
	if (conf_defaults(&c) < 0 || (c.jid = strdup(JID)) == NULL ||
	    (lp = loop_new(NULL)) == NULL)
		return 1;
	c.auth = 0;
	if ((none = auth_new(lp, &c, err, sizeof(err))) == NULL)
		return 1;
	test_admitted(none);
	test_refused(none);
	test_unauthorized();
	test_answer_frames();
	release();
	auth_free(none);
	loop_free(lp);
	conf_free(&c);
	stanza_thread_done();
	return t_done();
}
