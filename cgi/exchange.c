/*
 * The bridge round trip.  A SUBMIT frame carries the checked stanza, the
 * fields the bridge authorizes it by (kind, id, addresses, type), what to
 * wait for, and the sender's credentials as the web server passed them.
 * Failures of the call are logged here, where they happen; what they
 * answer is respond.c's.
 */
#include <string.h>

#include "exchange.h"
#include "log.h"

/* How long past the stanza's own timeout we wait for the bridge. */
#define BRIDGE_GRACE_MS 2000
#define STATUS_TIMEOUT_MS 5000

/* Each worker thread keeps its connection to the bridge. */
static _Thread_local struct bridge_conn kept = {-1};

static enum wait_for
wait_for(const struct stanza *st)
{
	if (strcmp(st->kind, "iq") == 0)
		return WAIT_IQ_REPLY;
	return st->wants_receipt ? WAIT_RECEIPT : WAIT_SENT;
}

/* The SUBMIT frame for rq, with a new seq; -1 with ex->err on failure. */
static int
make_submit(const struct request *rq, uint32_t *seq, struct frame_out *fo,
    struct exchange *ex)
{
	static _Thread_local uint32_t last; /* one sequence per worker */
	const struct stanza *st = &rq->st;

	if (last == 0)
		last = xr_random_u32() | 1;
	*seq = ++last;
	frame_begin(fo, FRAME_SUBMIT, *seq);
	frame_put_str(fo, FIELD_KIND, st->kind);
	frame_put_str(fo, FIELD_ID, st->id);
	frame_put_str(fo, FIELD_TO, st->to);
	frame_put_str(fo, FIELD_FROM, st->from);
	frame_put_str(fo, FIELD_TYPE, st->type);
	frame_put(fo, FIELD_STANZA, st->xml, st->xml_len);
	frame_put_uint(fo, FIELD_TIMEOUT, rq->timeout_ms);
	frame_put_str(fo, FIELD_WAIT, wait_name(wait_for(st)));
	frame_put_str(fo, FIELD_AUTHORIZATION, rq->authorization);
	frame_put_str(fo, FIELD_REMOTE_USER, rq->remote_user);
	frame_put_str(fo, FIELD_REMOTE_ADDR, rq->remote_addr);
	return frame_finish(fo, ex->err, sizeof(ex->err));
}

static void
submit(const struct conf *c, const struct request *rq, struct exchange *ex)
{
	struct frame_out fo = {0};
	uint32_t seq;

	if (make_submit(rq, &seq, &fo, ex) < 0) {
		frame_out_free(&fo);
		ex->state = EXCHANGE_UNSENT;
		return;
	}
	ex->state = EXCHANGE_DONE;
	ex->rc = bridge_call(&kept, c->socket, &fo, seq,
	    (int)rq->timeout_ms + BRIDGE_GRACE_MS, &ex->f, ex->err,
	    sizeof(ex->err));
	frame_out_free(&fo);
	if (ex->rc == BRIDGE_UNREACHABLE)
		log_warnx("bridge not running (%s)", ex->err);
	else if (ex->rc == BRIDGE_BROKEN)
		log_warnx("bad answer from the bridge: %s", ex->err);
}

void
exchange_run(
    const struct conf *c, const struct request *rq, struct exchange *ex)
{
	memset(ex, 0, sizeof(*ex));
	switch (rq->kind) {
	case REQUEST_SUBMIT:
		submit(c, rq, ex);
		return;
	case REQUEST_STATUS:
		ex->state = EXCHANGE_DONE;
		ex->rc = bridge_status(c->socket, STATUS_TIMEOUT_MS, &ex->f,
		    ex->err, sizeof(ex->err));
		return;
	case REQUEST_REFUSED:
	case REQUEST_OPTIONS:
		ex->state = EXCHANGE_NONE;
		return;
	}
}

void
exchange_free(struct exchange *ex)
{
	if (ex->state == EXCHANGE_DONE && ex->rc == BRIDGE_OK)
		frame_clear(&ex->f);
}
