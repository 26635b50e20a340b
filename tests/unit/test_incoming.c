/*
 * Incoming delivery (bridge/incoming.c) with a fake session, a fake pool
 * of delivery workers and a fake clock, over a real spool in a temporary
 * directory: which stanzas reach the webhook, and the retry policy of
 * the spool (back-off, the Retry-After floor, one sender's order, giving
 * up after retry_max_age), in milliseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "incoming.h"
#include "log.h"
#include "loop.h"
#include "stray.h"
#include "t.h"

#define JID "bridge.example"
#define SENDER "bob@example/phone"

static int64_t mono_ms = 7000000, wall_ms = 1800000000000LL;

static int64_t
fake_mono(void *ud)
{
	(void)ud;
	return mono_ms;
}

static int64_t
fake_wall(void *ud)
{
	(void)ud;
	return wall_ms;
}

/* Moves both clocks on. */
static void
advance(struct loop *lp, int64_t ms)
{
	mono_ms += ms;
	wall_ms += ms;
	loop_run_timers(lp);
}

struct submitted {
	char url[128];
	char id[64];
	char body[512];
	void *job;
};

static struct {
	int up;
	struct submitted subs[32];
	int nsubs;
	int full;          /* the pool refuses new jobs */
	char sent[8][512]; /* what went back over XMPP */
	int nsent;
} fk;

static xmpp_ctx_t *ctx;

static int
fake_is_up(void *ud)
{
	(void)ud;
	return fk.up;
}

static int
fake_send(xmpp_stanza_t *st, void *ud)
{
	char *text = NULL;
	size_t n = 0;

	(void)ud;
	if (fk.nsent < 8 && xmpp_stanza_to_text(st, &text, &n) == XMPP_EOK)
		snprintf(fk.sent[fk.nsent++], sizeof(fk.sent[0]), "%s", text);
	xmpp_free(ctx, text);
	return 0;
}

static xmpp_ctx_t *
fake_ctx(void *ud)
{
	(void)ud;
	return ctx;
}

static int
fake_submit(const char *url, const char *id, char *body, size_t len, void *job,
    void *ud)
{
	struct submitted *s = &fk.subs[fk.nsubs];

	(void)len;
	(void)ud;
	if (fk.full || fk.nsubs == 32) {
		free(body);
		return -1;
	}
	fk.nsubs++;
	snprintf(s->url, sizeof(s->url), "%s", url);
	snprintf(s->id, sizeof(s->id), "%s", id ? id : "");
	snprintf(s->body, sizeof(s->body), "%s", body);
	s->job = job;
	free(body);
	return 0;
}

static unsigned long
fake_inflight(void *ud)
{
	(void)ud;
	return 0;
}

static unsigned long
fake_queued(void *ud)
{
	(void)ud;
	return 0;
}

static const struct in_link fake_link = {fake_is_up, fake_send, fake_ctx};
static const struct in_pool pool = {fake_submit, fake_inflight, fake_queued};

/* The webhook's answer to submission i, as the pool reports it. */
static void
finish(int i, int status, unsigned long retry_after)
{
	struct wh_result r = {
	    WH_RESPONSE, status, "", "", NULL, 0, NULL, retry_after};

	in_job_done(fk.subs[i].job, &r);
	in_job_free(fk.subs[i].job);
	fk.subs[i].job = NULL;
}

static void
arrives(struct incoming *in, const char *xml)
{
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);

	if (st == NULL) {
		fprintf(stderr, "not a stanza: %s\n", xml);
		exit(1);
	}
	in_stanza(in, st);
	xmpp_stanza_release(st);
}

static void
message(struct incoming *in, const char *from, const char *body)
{
	char xml[256];

	snprintf(xml, sizeof(xml),
	    "<message from='%s' to='echo@" JID "'><body>%s</body></message>",
	    from, body);
	arrives(in, xml);
}

static struct conf c;
static struct stray *sy;
static struct privs pv;
static char dir[64];

static struct incoming *
fresh(struct loop *lp, unsigned long retry_max_age)
{
	char err[256];
	struct incoming *in;

	memset(&fk, 0, sizeof(fk));
	fk.up = 1;
	c.retry_max_age = retry_max_age;
	in = in_new(lp, sy, &c, &pv, &fake_link, &pool, NULL, err, sizeof(err));
	if (in == NULL)
		fprintf(stderr, "in_new: %s\n", err);
	return in;
}

static void
test_what_is_delivered(struct loop *lp)
{
	struct incoming *in = fresh(lp, 3600);

	message(in, SENDER, "hello");
	T_EQ_INT(fk.nsubs, 1, "a message to the component goes to the webhook");
	T_HAS(fk.subs[0].body, "hello", "with the stanza as its body");
	arrives(in,
	    "<message from='" JID "' to='x@" JID "'><body>loop</body>"
	    "</message>");
	T_EQ_INT(fk.nsubs, 1, "one from the bridge's own domain does not");
	arrives(in,
	    "<iq type='get' id='p1' from='" SENDER "' to='" JID "'>"
	    "<query xmlns='urn:example'/></iq>");
	T_EQ_INT(fk.nsubs, 2, "an iq request goes to the webhook");
	finish(0, 200, 0);
	finish(1, 200, 0);
	T_OK(fk.nsent == 1 && strstr(fk.sent[0], "type=\"result\"") != NULL,
	    "an iq answered 200 with no body gets an empty result");
	in_free(in);
}

static void
test_backoff_and_retry_after(struct loop *lp)
{
	struct incoming *in = fresh(lp, 3600);
	struct in_stats st;

	message(in, SENDER, "first");
	finish(0, 503, 0);
	in_stats(in, &st);
	T_EQ_INT(st.spool_messages, 1, "a 503 spools the message");
	T_EQ_INT(fk.nsent, 0, "and its sender hears nothing yet");
	advance(lp, 1000 * (int64_t)c.callback_retry_min - 1);
	T_EQ_INT(fk.nsubs, 1, "no retry before callback_retry_min");
	advance(lp, 1000 * (int64_t)c.callback_retry_max);
	T_EQ_INT(fk.nsubs, 2, "a retry within callback_retry_max");
	T_EQ_STR(fk.subs[1].id, fk.subs[0].id,
	    "under the same delivery id as the first attempt");
	finish(1, 429, 40);
	advance(lp, 39999);
	T_EQ_INT(fk.nsubs, 2, "Retry-After 40: nothing for 40 s");
	advance(lp, 1000 * (int64_t)c.callback_retry_max);
	T_EQ_INT(fk.nsubs, 3, "then the next try");
	fk.up = 0;
	finish(2, 500, 0);
	advance(lp, 2000 * (int64_t)c.callback_retry_max);
	T_EQ_INT(fk.nsubs, 3, "no retry while the XMPP session is down");
	fk.up = 1;
	advance(lp, 1000);
	T_EQ_INT(fk.nsubs, 4, "a retry once it is back");
	finish(3, 200, 0);
	in_stats(in, &st);
	T_EQ_INT(st.spool_messages, 0, "taken: the spool is empty again");
	T_EQ_INT(fk.nsent, 0, "a message taken with no body sends nothing");
	in_free(in);
}

static void
test_order_per_sender(struct loop *lp)
{
	struct incoming *in = fresh(lp, 3600);

	message(in, SENDER, "one");
	finish(0, 503, 0);
	message(in, SENDER, "two");
	T_EQ_INT(fk.nsubs, 1,
	    "behind a spooled message of its sender: "
	    "spooled, not tried");
	message(in, "carol@example/desk", "other");
	T_EQ_INT(fk.nsubs, 2, "another sender's message is tried at once");
	finish(1, 200, 0);
	advance(lp, 1000 * (int64_t)c.callback_retry_max);
	T_OK(fk.nsubs == 3 && strstr(fk.subs[2].body, "one") != NULL,
	    "the head of the queue is retried first");
	advance(lp, 1000 * (int64_t)c.callback_retry_max);
	T_EQ_INT(fk.nsubs, 3, "one at a time: the second waits for it");
	finish(2, 200, 0);
	advance(lp, 1);
	T_OK(fk.nsubs == 4 && strstr(fk.subs[3].body, "two") != NULL,
	    "then the second, at once");
	finish(3, 200, 0);
	in_free(in);
}

static void
test_give_up(struct loop *lp)
{
	struct incoming *in = fresh(lp, 300);
	struct in_stats st;
	int n;

	message(in, SENDER, "doomed");
	finish(0, 503, 0);
	for (n = 1; n < 30; n++) {
		advance(lp, 1000 * (int64_t)c.callback_retry_max);
		if (fk.nsubs == n)
			break;
		finish(n, 503, 0);
	}
	in_stats(in, &st);
	T_OK(st.spool_messages == 0 && fk.nsubs < 30,
	    "after retry_max_age the message leaves the spool");
	T_OK(fk.nsent == 1 && strstr(fk.sent[0], "type=\"error\"") != NULL,
	    "and its sender gets an error");
	T_HAS(fk.sent[0], "service-unavailable",
	    "the one the reply rules give for the last failure (503)");
	in_free(in);
}

static void
test_no_spool_for_iq(struct loop *lp)
{
	struct incoming *in = fresh(lp, 3600);
	struct in_stats st;

	arrives(in,
	    "<iq type='set' id='s1' from='" SENDER "' to='" JID "'>"
	    "<query xmlns='urn:example'/></iq>");
	finish(0, 503, 0);
	in_stats(in, &st);
	T_EQ_INT(st.spool_messages, 0, "an iq is never spooled");
	T_OK(fk.nsent == 1 && strstr(fk.sent[0], "type=\"error\"") != NULL,
	    "its sender gets the error at once");
	fk.full = 1;
	message(in, SENDER, "overflow");
	in_stats(in, &st);
	T_EQ_INT(st.spool_messages, 1,
	    "a message the pool has no room for is spooled");
	in_free(in);
}

/* A sender with nothing in the spool the earlier tests left. */
#define DAVE "dave@example/laptop"

/* A reload reaches incoming through in_reconfigure, and only there. */
static void
test_reconfigure(struct loop *lp)
{
	struct incoming *in = fresh(lp, 3600);
	static char other[] = "http://127.0.0.1:9/other";
	unsigned long kinds = c.callback_stanzas;
	char *url = c.callback_url;

	c.callback_stanzas = CONF_KIND_PRESENCE;
	c.callback_url = other;
	message(in, DAVE, "before");
	T_EQ_INT(
	    fk.nsubs, 1, "values changed under incoming's feet change nothing");
	T_HAS(fk.subs[0].url, "/hook/", "the URL is still the one it took");
	finish(0, 200, 0);
	T_EQ_INT(in_reconfigure(in, &c), 0, "in_reconfigure takes new values");
	message(in, DAVE, "after");
	T_EQ_INT(fk.nsubs, 1, "then a kind no longer listed is not delivered");
	arrives(in, "<presence from='" DAVE "' to='echo@" JID "'/>");
	T_OK(fk.nsubs == 2 &&
		strcmp(fk.subs[1].url, "http://127.0.0.1:9/other") == 0,
	    "and one still listed goes to the new URL");
	finish(1, 200, 0);
	c.callback_stanzas = kinds;
	c.callback_url = url;
	in_free(in);
}

int
main(void)
{
	struct loop_clock clock = {fake_mono, fake_wall, NULL};
	struct loop *lp;
	char cmd[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("test_incoming", 0, LOG_LVL_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/xr-incoming.XXXXXX");
	if (mkdtemp(dir) == NULL || conf_defaults(&c) < 0)
		return 1;
	free(c.jid);
	free(c.callback_url);
	free(c.spool_dir);
	c.jid = strdup(JID);
	c.callback_url = strdup("http://127.0.0.1:9/hook/{from}");
	c.spool_dir = strdup(dir);
	c.spool_max_bytes = 1000000;
	c.callback_retry_min = 2;
	c.callback_retry_max = 100;
	pv.drop = 0;
	pv.gid = getgid();
	xmpp_initialize();
	if ((sy = stray_new()) == NULL || (lp = loop_new(&clock)) == NULL ||
	    (ctx = xmpp_ctx_new(NULL, NULL)) == NULL)
		return 1;
	test_what_is_delivered(lp);
	test_backoff_and_retry_after(lp);
	test_order_per_sender(lp);
	test_give_up(lp);
	test_no_spool_for_iq(lp);
	test_reconfigure(lp);
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	loop_free(lp);
	stray_free(sy);
	conf_free(&c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return t_done();
}
