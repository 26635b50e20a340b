/*
 * The outgoing pipeline (bridge/outgoing.c) with a fake session and a
 * fake clock: what the XMPP server would see written, what it answers,
 * and what each responder is told, without a server or a wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "outgoing.h"
#include "stray.h"
#include "t.h"

#define JID "bridge.example"

static char cl_a;
#define A ((struct client *)(void *)&cl_a)

/* ---- the fake session and clock ---- */

static int64_t clock_ms = 5000000;

static int64_t
fake_now(void *ud)
{
	(void)ud;
	return clock_ms;
}

struct heard {
	uint32_t seq;
	enum outcome outcome;
	char condition[64], text[512], stanza[512];
};

static struct {
	int up;
	char written[65536]; /* everything written, in order */
	size_t wlen;
	unsigned long pings; /* the last ping's number */
	int reconnects;
	struct heard answers[64];
	int nanswers;
} fs;

static int
fake_is_up(void *ud)
{
	(void)ud;
	return fs.up;
}

static const char *
fake_down_reason(void *ud)
{
	(void)ud;
	return "the XMPP session is down (fake)";
}

static int
fake_write(const char *xml, size_t len, void *ud)
{
	(void)ud;
	if (!fs.up || fs.wlen + len + 2 > sizeof(fs.written))
		return -1;
	memcpy(fs.written + fs.wlen, xml, len);
	fs.wlen += len;
	fs.written[fs.wlen++] = '\n';
	fs.written[fs.wlen] = '\0';
	return 0;
}

static int
fake_write_alone(const char *xml, size_t len, void *ud)
{
	const char *n = strstr(xml, "' from=");

	/* id='xr-ack-RANDOM-N': the number ends where from begins. */
	while (n > xml && n[-1] >= '0' && n[-1] <= '9')
		n--;
	fs.pings = strtoul(n, NULL, 10);
	return fake_write(xml, len, ud);
}

static void
fake_reconnect(void *ud)
{
	(void)ud;
	fs.reconnects++;
}

static void
fake_answer(struct client *cl, uint32_t seq, const struct answer *a, void *ud)
{
	struct heard *h = &fs.answers[fs.nanswers];

	(void)ud;
	(void)cl;
	if (fs.nanswers == 64)
		return;
	fs.nanswers++;
	h->seq = seq;
	h->outcome = a->outcome;
	snprintf(h->condition, sizeof(h->condition), "%s",
	    a->condition ? a->condition : "");
	snprintf(h->text, sizeof(h->text), "%s", a->text ? a->text : "");
	snprintf(h->stanza, sizeof(h->stanza), "%.*s", (int)a->stanza_len,
	    a->stanza ? a->stanza : "");
}

static const struct out_link fake_link = {fake_is_up, fake_down_reason,
    fake_write, fake_write_alone, fake_reconnect, fake_answer};
static struct loop *lp;
static xmpp_ctx_t *ctx;
static struct stray *sy; /* each fresh pipeline's own */

/* A fresh pipeline with the session up and nothing heard. */
static struct outgoing *
fresh(unsigned long queue_max, unsigned long queue_wait)
{
	struct out_settings s = {JID, queue_max, queue_wait};

	memset(&fs, 0, sizeof(fs));
	fs.up = 1;
	stray_free(sy);
	if ((sy = stray_new()) == NULL)
		return NULL;
	return out_new(lp, sy, &fake_link, NULL, &s);
}

static void
submit(struct outgoing *o, uint32_t seq, enum wait_for what, const char *id,
    const char *to, int64_t timeout_ms)
{
	char xml[256];
	struct out_request rq = {
	    A, seq, what, "message", id, to, xml, 0, timeout_ms};

	rq.len = (size_t)snprintf(xml, sizeof(xml),
	    "<message id='%s' to='%s'><body>%u</body></message>", id, to, seq);
	out_submit(o, &rq);
}

/* The end of the loop's turn: the ping timer fires. */
static void
end_turn(void)
{
	loop_run_timers(lp);
}

/* Feeds a stanza from the server; what out_take_stanza said. */
static int
server_says(struct outgoing *o, const char *xml)
{
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	int taken;

	if (st == NULL) {
		fprintf(stderr, "not a stanza: %s\n", xml);
		exit(1);
	}
	taken = out_take_stanza(o, st);
	xmpp_stanza_release(st);
	return taken;
}

/* The server returns our ping number n. */
static void
ack(struct outgoing *o, unsigned long n)
{
	char id[64], xml[256];
	const char *p = strstr(fs.written, "id='xr-ack-");

	if (p == NULL) {
		fprintf(stderr, "no ping was written\n");
		exit(1);
	}
	snprintf(id, sizeof(id), "%.*s%lu", 16, p + 4, n);
	snprintf(xml, sizeof(xml),
	    "<iq type='result' id='%s' from='" JID "' to='" JID "'/>", id);
	T_EQ_INT(server_says(o, xml), 1, "the ping's return is taken");
}

static int
count(const char *needle)
{
	int n = 0;

	for (const char *p = fs.written; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* The last place needle was written, or NULL. */
static const char *
last(const char *needle)
{
	const char *found = NULL;

	for (const char *p = fs.written; (p = strstr(p, needle)) != NULL; p++)
		found = p;
	return found;
}

/* ---- the checks ---- */

static void
test_ack_covers_what_came_before(void)
{
	struct outgoing *o = fresh(100, 10);

	submit(o, 1, WAIT_SENT, "m1", "bob@example", 30000);
	T_OK(strstr(fs.written, "id='m1'") != NULL, "m1 is written at once");
	T_EQ_INT(count("xr-ack-"), 0, "its ping waits for the end of the turn");
	end_turn();
	T_EQ_INT(fs.pings, 1, "one ping follows it");
	submit(o, 2, WAIT_SENT, "m2", "bob@example", 30000);
	end_turn();
	T_EQ_INT(fs.pings, 2, "m2, written after ping 1, gets ping 2");
	T_OK(strstr(fs.written, "id='m1'") < strstr(fs.written, "-1'") &&
		strstr(fs.written, "-1'") < strstr(fs.written, "id='m2'"),
	    "in the stream: m1, ping 1, m2");
	T_EQ_INT(fs.nanswers, 0, "nothing is answered before a ping returns");
	ack(o, 1);
	T_EQ_INT(fs.nanswers, 1, "ping 1 answers one request");
	T_OK(fs.answers[0].seq == 1 && fs.answers[0].outcome == OUTCOME_SENT,
	    "m1 is answered sent");
	ack(o, 1);
	T_EQ_INT(fs.nanswers, 1, "the same ping again answers nothing");
	ack(o, 2);
	T_OK(fs.nanswers == 2 && fs.answers[1].seq == 2 &&
		fs.answers[1].outcome == OUTCOME_SENT,
	    "ping 2 answers m2 sent");
	out_free(o);
}

static void
test_pings_cover_a_turn(void)
{
	struct outgoing *o = fresh(100, 10);

	for (uint32_t i = 1; i <= 5; i++) {
		char id[8];

		snprintf(id, sizeof(id), "b%u", i);
		submit(o, i, WAIT_SENT, id, "bob@example", 30000);
	}
	end_turn();
	T_EQ_INT(count("xr-ack-"), 1, "five stanzas of one turn: one ping");
	ack(o, 1);
	T_EQ_INT(fs.nanswers, 5, "its return answers all five");
	out_free(o);
}

static void
test_bounce_before_ack(void)
{
	struct outgoing *o = fresh(100, 10);

	submit(o, 7, WAIT_SENT, "m7", "nobody@example", 30000);
	end_turn();
	T_EQ_INT(server_says(o,
		     "<message type='error' id='m7' "
		     "from='nobody@example'><error type='cancel'>"
		     "<item-not-found xmlns='urn:ietf:params:xml:"
		     "ns:xmpp-stanzas'/></error></message>"),
	    1, "a bounce of a stanza in flight is taken");
	T_OK(fs.nanswers == 1 && fs.answers[0].outcome == OUTCOME_ERROR,
	    "the bounce answers the request: error");
	T_EQ_STR(fs.answers[0].condition, "item-not-found",
	    "with the bounce's condition");
	T_HAS(fs.answers[0].stanza, "id=\"m7\"", "and the bounce itself");
	ack(o, 1);
	T_EQ_INT(fs.nanswers, 1, "the ping's return answers it no second time");
	out_free(o);
}

static void
test_resend_after_reconnect(void)
{
	struct outgoing *o = fresh(100, 10);

	submit(o, 1, WAIT_SENT, "r1", "bob@example", 30000);
	end_turn();
	fs.up = 0;
	out_session_down(o, "connection reset", NULL, 0);
	T_EQ_INT(fs.nanswers, 0,
	    "a stanza in flight is not answered when the "
	    "stream breaks");
	submit(o, 2, WAIT_SENT, "r2", "bob@example", 30000);
	T_EQ_INT(count("id='r2'"), 0, "a new one is held while down");
	fs.up = 1;
	out_session_up(o);
	end_turn();
	T_EQ_INT(
	    count("id='r1'"), 2, "after the reconnect r1 is written again");
	T_EQ_INT(count("id='r2'"), 0,
	    "alone: the stream error the break hides may be its");
	ack(o, 2);
	T_OK(fs.nanswers == 1 && fs.answers[0].seq == 1,
	    "its new ping answers it");
	end_turn();
	T_OK(strstr(fs.written, "id='r2'") > last("id='r1'"), "then r2 goes");
	ack(o, 3);
	T_OK(fs.nanswers == 2 && fs.answers[1].seq == 2,
	    "and is answered, in the order they came");
	ack(o, 1);
	T_EQ_INT(fs.nanswers, 2, "the lost session's ping answers nothing");
	out_free(o);
}

static void
test_broke_twice(void)
{
	struct outgoing *o = fresh(100, 10);
	size_t before;

	submit(o, 1, WAIT_SENT, "good", "bob@example", 30000);
	submit(o, 2, WAIT_SENT, "bad", "bob@example", 30000);
	end_turn();
	fs.up = 0;
	out_session_down(o, "stream error", "not-well-formed", 1);
	T_EQ_INT(fs.nanswers, 0, "after one blaming error both are suspects");
	fs.up = 1;
	before = fs.wlen;
	out_session_up(o);
	end_turn();
	T_OK(strstr(fs.written + before, "id='good'") != NULL &&
		strstr(fs.written + before, "id='bad'") == NULL,
	    "suspects are written one at a time: the first alone");
	ack(o, 2);
	T_OK(fs.nanswers == 1 && fs.answers[0].seq == 1 &&
		fs.answers[0].outcome == OUTCOME_SENT,
	    "its ping answers it sent");
	end_turn();
	T_OK(strstr(fs.written + before, "id='bad'") != NULL,
	    "then the second, behind its own ping");
	fs.up = 0;
	out_session_down(o, "stream error", "not-well-formed", 1);
	T_OK(fs.nanswers == 2 && fs.answers[1].seq == 2 &&
		fs.answers[1].outcome == OUTCOME_STREAM_CLOSED,
	    "in flight at a second blaming error: stream-closed");
	T_EQ_STR(fs.answers[1].condition, "not-well-formed",
	    "with the stream error's condition");
	fs.up = 1;
	before = fs.wlen;
	out_session_up(o);
	end_turn();
	T_EQ_INT(fs.wlen, before, "and it is not written again");
	out_free(o);
}

/* The server's reset discarded its stream error: the stanzas in flight
 * are written alone, and the error after the bad one, read this time,
 * is conclusive. */
static void
test_error_lost_then_read(void)
{
	struct outgoing *o = fresh(100, 10);
	size_t before;

	submit(o, 1, WAIT_SENT, "good", "bob@example", 30000);
	submit(o, 2, WAIT_SENT, "bad", "bob@example", 30000);
	end_turn();
	fs.up = 0;
	out_session_down(o, "connection reset", NULL, 0);
	T_EQ_INT(fs.nanswers, 0, "a break without a stream error answers none");
	fs.up = 1;
	before = fs.wlen;
	out_session_up(o);
	end_turn();
	T_OK(strstr(fs.written + before, "id='bad'") == NULL,
	    "after it the stanzas in flight are written one at a time");
	ack(o, 2);
	end_turn();
	T_OK(fs.nanswers == 1 && fs.answers[0].outcome == OUTCOME_SENT &&
		strstr(fs.written + before, "id='bad'") != NULL,
	    "the first is answered sent, then the second is written alone");
	fs.up = 0;
	out_session_down(o, "stream error", "not-well-formed", 1);
	T_OK(fs.nanswers == 2 && fs.answers[1].seq == 2 &&
		fs.answers[1].outcome == OUTCOME_STREAM_CLOSED,
	    "a blaming error with it alone in flight: stream-closed, two "
	    "sessions in all");
	out_free(o);

	o = fresh(100, 10);
	submit(o, 1, WAIT_SENT, "x1", "bob@example", 30000);
	end_turn();
	for (int i = 0; i < 3; i++) {
		fs.up = 0;
		out_session_down(o, "connection reset", NULL, 0);
		fs.up = 1;
		out_session_up(o);
		end_turn();
	}
	T_EQ_INT(fs.nanswers, 0,
	    "breaks without stream errors never give a stanza up");
	out_free(o);
}

static void
test_plain_break_blames_nothing(void)
{
	struct outgoing *o = fresh(100, 10);
	size_t before;

	submit(o, 1, WAIT_SENT, "p1", "bob@example", 30000);
	submit(o, 2, WAIT_SENT, "p2", "bob@example", 30000);
	end_turn();
	fs.up = 0;
	out_session_down(o, "server shutting down", "system-shutdown", 0);
	fs.up = 1;
	before = fs.wlen;
	out_session_up(o);
	T_OK(strstr(fs.written + before, "id='p1'") != NULL &&
		strstr(fs.written + before, "id='p2'") != NULL,
	    "a stream error that blames nothing: both written again at once");
	out_free(o);
}

static void
test_reply_matching(void)
{
	struct outgoing *o = fresh(100, 10);

	submit(o, 1, WAIT_IQ_REPLY, "q1", "alice@example/desk", 30000);
	submit(o, 2, WAIT_RECEIPT, "m2", "bob@example", 30000);
	end_turn();
	ack(o, 1);
	T_EQ_INT(fs.nanswers, 0,
	    "requests that wait for a reply stay after "
	    "the ping");
	T_EQ_INT(server_says(o,
		     "<iq type='result' id='q1' "
		     "from='mallory@example/desk'/>"),
	    0, "a reply from another JID is not taken");
	T_EQ_INT(server_says(o,
		     "<iq type='get' id='q1' "
		     "from='alice@example/desk'><ping "
		     "xmlns='urn:xmpp:ping'/></iq>"),
	    0, "an iq get with the same id is a request, not the reply");
	T_EQ_INT(server_says(o,
		     "<iq type='result' id='q1' "
		     "from='alice@example/desk'/>"),
	    1, "the addressee's reply is taken");
	T_OK(fs.nanswers == 1 && fs.answers[0].seq == 1 &&
		fs.answers[0].outcome == OUTCOME_REPLY,
	    "and answers its request: reply");
	T_HAS(fs.answers[0].stanza, "type=\"result\"", "with the reply itself");
	T_EQ_INT(server_says(o,
		     "<message from='bob@example/phone'><received "
		     "xmlns='urn:xmpp:receipts' id='m2'/>"
		     "</message>"),
	    1, "a receipt from a resource of the addressee is taken");
	T_OK(fs.nanswers == 2 && fs.answers[1].seq == 2 &&
		fs.answers[1].outcome == OUTCOME_REPLY,
	    "and answers the message: reply");
	T_EQ_INT(server_says(o,
		     "<message from='bob@example/phone'><body>hi"
		     "</body></message>"),
	    0, "a plain message is not taken");
	T_EQ_INT(stray_count(sy), 0,
	    "answers to ids it wrote are not stray, even once answered");
	T_EQ_INT(server_says(o,
		     "<iq type='result' id='theirs' "
		     "from='alice@example/desk'/>"),
	    0, "a reply to an id never written is not taken");
	T_EQ_INT(stray_count(sy), 1, "and is counted as a stray answer");
	T_EQ_INT(server_says(o,
		     "<iq type='result' id='q1' "
		     "from='alice@example/desk'/>"),
	    0, "a second reply to an answered request is not taken");
	T_EQ_INT(stray_count(sy), 1, "nor counted: that id was written");
	out_free(o);
}

static void
test_deadlines(void)
{
	struct outgoing *o = fresh(100, 2);

	submit(o, 1, WAIT_IQ_REPLY, "t1", "alice@example", 5000);
	end_turn();
	ack(o, 1);
	clock_ms += 4999;
	end_turn();
	T_EQ_INT(fs.nanswers, 0, "no answer before the timeout");
	clock_ms += 2;
	end_turn();
	T_OK(fs.nanswers == 1 && fs.answers[0].outcome == OUTCOME_TIMEOUT,
	    "at the timeout: timeout");
	T_EQ_STR(fs.answers[0].condition, "remote-server-timeout",
	    "remote-server-timeout");

	fs.up = 0;
	out_session_down(o, "gone", NULL, 0);
	submit(o, 2, WAIT_SENT, "t2", "bob@example", 30000);
	clock_ms += 2001;
	end_turn();
	T_OK(fs.nanswers == 2 && fs.answers[1].outcome == OUTCOME_UNAVAILABLE,
	    "held past queue_wait: unavailable");
	T_HAS(fs.answers[1].text, "queue_wait 2 s", "naming queue_wait");
	out_free(o);
}

static void
test_ack_timeout(void)
{
	struct outgoing *o = fresh(100, 10);

	submit(o, 1, WAIT_SENT, "a1", "bob@example", 60000);
	end_turn();
	clock_ms += 9999;
	end_turn();
	T_EQ_INT(fs.reconnects, 0, "a ping may take its time");
	clock_ms += 2;
	end_turn();
	T_EQ_INT(fs.reconnects, 1, "a ping lost for 10 s drops the session");
	out_free(o);
}

static void
test_refusals(void)
{
	struct outgoing *o = fresh(2, 10);
	struct out_stats st;

	fs.up = 0;
	submit(o, 1, WAIT_SENT, "q1", "bob@example", 30000);
	submit(o, 2, WAIT_SENT, "q2", "bob@example", 30000);
	submit(o, 3, WAIT_SENT, "q3", "bob@example", 30000);
	T_OK(fs.nanswers == 1 && fs.answers[0].seq == 3 &&
		fs.answers[0].outcome == OUTCOME_UNAVAILABLE,
	    "past queue_max while down: unavailable");
	T_HAS(fs.answers[0].text, "queue_max", "naming queue_max");
	out_stats(o, &st);
	T_OK(st.queued == 2 && st.in_bridge == 2, "two wait");
	submit(o, 4, WAIT_IQ_REPLY, "i1", "alice@example", 30000);
	out_set_limits(o, 10, 10);
	submit(o, 5, WAIT_IQ_REPLY, "i1", "alice@example", 30000);
	submit(o, 6, WAIT_IQ_REPLY, "i1", "alice@example", 30000);
	T_OK(fs.nanswers == 3 && fs.answers[2].outcome == OUTCOME_REJECTED,
	    "a second iq with the same id and addressee: rejected");
	T_EQ_STR(fs.answers[2].condition, "conflict", "conflict");
	out_drain(o);
	submit(o, 7, WAIT_SENT, "q7", "bob@example", 30000);
	T_HAS(fs.answers[3].text, "shutting down", "draining: refused");
	out_give_up(o, "the bridge is shutting down");
	out_stats(o, &st);
	T_OK(fs.nanswers == 7 && st.in_bridge == 0,
	    "giving up answers every request left");
	out_free(o);

	o = fresh(100, 0);
	fs.up = 0;
	submit(o, 1, WAIT_SENT, "z1", "bob@example", 30000);
	T_OK(fs.nanswers == 1 && fs.answers[0].outcome == OUTCOME_UNAVAILABLE,
	    "queue_wait 0: refused at once while down");
	out_free(o);
}

static void
test_lost_while_waiting(void)
{
	struct outgoing *o = fresh(100, 10);

	submit(o, 1, WAIT_IQ_REPLY, "w1", "alice@example", 30000);
	end_turn();
	ack(o, 1);
	fs.up = 0;
	out_session_down(o, "reset", NULL, 0);
	T_OK(fs.nanswers == 1 && fs.answers[0].outcome == OUTCOME_UNAVAILABLE,
	    "an iq taken by the server, still waiting when the session goes: "
	    "unavailable");
	T_HAS(fs.answers[0].text, "lost before an answer", "saying why");
	out_free(o);
}

int
main(void)
{
	struct loop_clock clock = {fake_now, NULL, NULL};

	log_init("test_outgoing", 0, LOG_LVL_ERROR);
	xmpp_initialize();
	if ((lp = loop_new(&clock)) == NULL ||
	    (ctx = xmpp_ctx_new(NULL, NULL)) == NULL)
		return 1;
	test_ack_covers_what_came_before();
	test_pings_cover_a_turn();
	test_bounce_before_ack();
	test_resend_after_reconnect();
	test_broke_twice();
	test_plain_break_blames_nothing();
	test_error_lost_then_read();
	test_reply_matching();
	test_deadlines();
	test_ack_timeout();
	test_refusals();
	test_lost_while_waiting();
	stray_free(sy);
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	loop_free(lp);
	return t_done();
}
