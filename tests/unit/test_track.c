/*
 * Matching replies to waiting requests: by id and by addressee, so that a
 * reply from the wrong JID completes nothing.
 */
#include <stdint.h>

#include "track.h"
#include "t.h"

/* Any distinct addresses do: track.c never dereferences a client. */
static char cl_a, cl_b;
#define A ((struct client *)(void *)&cl_a)
#define B ((struct client *)(void *)&cl_b)

static struct track *tr;

/* A request that was written and acknowledged: it waits for its answer. */
static int
add(struct client *cl, uint32_t seq, enum wait_for what, const char *id,
    const char *to, int64_t deadline)
{
	struct pending *p;

	if (track_add(tr, cl, seq, what, id, to, "<x/>", 4, deadline, 0) < 0)
		return -1;
	for (p = track_fifo_head(tr); track_fifo_next(p);
	     p = track_fifo_next(p))
		;
	track_acked(tr, p);
	return 0;
}

static void
test_matching(void)
{
	struct pending *p;

	T_EQ_INT(add(A, 1, WAIT_IQ_REPLY, "q1", "alice@example/phone", 1000), 0,
	    "add an iq to a full JID");
	T_OK(track_match(tr, WAIT_IQ_REPLY, "q1", "mallory@example/phone") ==
		NULL,
	    "a reply from another JID does not match");
	T_OK(track_match(tr, WAIT_IQ_REPLY, "q1", "alice@example") == NULL,
	    "nor from the bare JID when a full JID was asked");
	T_OK(track_match(tr, WAIT_IQ_REPLY, "q1", NULL) == NULL,
	    "nor from nobody");
	T_OK(track_match(tr, WAIT_RECEIPT, "q1", "alice@example/phone") == NULL,
	    "a receipt does not complete an iq");
	p = track_match(tr, WAIT_IQ_REPLY, "q1", "Alice@EXAMPLE/phone");
	T_OK(p != NULL && p->cl == A && p->seq == 1,
	    "the addressee's reply matches (case-insensitive local/domain)");
	pending_free(p);
	T_OK(
	    track_match(tr, WAIT_IQ_REPLY, "q1", "alice@example/phone") == NULL,
	    "a second reply matches nothing");
	T_EQ_INT(track_count(tr), 0, "nothing left waiting");

	add(A, 2, WAIT_RECEIPT, "m1", "bob@example", 1000);
	p = track_match(tr, WAIT_RECEIPT, "m1", "bob@example/laptop");
	T_OK(
	    p != NULL, "a receipt from a resource of a bare addressee matches");
	pending_free(p);
	add(A, 3, WAIT_IQ_REPLY, "q2", "bob@example/laptop", 1000);
	T_OK(track_match(tr, WAIT_IQ_REPLY, "q2", "bob@example/desk") == NULL,
	    "another resource does not answer for a full JID");
	pending_free(
	    track_match(tr, WAIT_IQ_REPLY, "q2", "bob@example/laptop"));
}

static void
test_same_id(void)
{
	struct pending *p;

	T_EQ_INT(
	    add(A, 1, WAIT_IQ_REPLY, "x", "a@example", 1000), 0, "id x to a");
	T_EQ_INT(add(B, 2, WAIT_IQ_REPLY, "x", "b@example", 1000), 0,
	    "the same id to another addressee may wait too");
	T_EQ_INT(add(B, 3, WAIT_IQ_REPLY, "x", "a@example", 1000), -1,
	    "the same id to the same addressee is a conflict");
	p = track_match(tr, WAIT_IQ_REPLY, "x", "b@example");
	T_OK(p != NULL && p->seq == 2, "each reply finds its own request");
	pending_free(p);
	p = track_match(tr, WAIT_IQ_REPLY, "x", "a@example");
	T_OK(p != NULL && p->seq == 1, "and the other one");
	pending_free(p);
}

static void
test_deadlines_and_clients(void)
{
	struct pending *p;

	add(A, 1, WAIT_IQ_REPLY, "d1", "a@example", 500);
	add(A, 2, WAIT_IQ_REPLY, "d2", "a@example", 300);
	add(B, 3, WAIT_IQ_REPLY, "d3", "a@example", 900);
	T_EQ_INT(track_next_deadline(tr), 300, "earliest deadline");
	T_OK(track_expired(tr, 299) == NULL, "nothing expired before it");
	p = track_expired(tr, 300);
	T_OK(p != NULL && p->seq == 2, "the due one expires");
	pending_free(p);
	track_drop_client(tr, A);
	T_EQ_INT(track_count(tr), 1, "a departed client's requests are gone");
	T_OK(track_match(tr, WAIT_IQ_REPLY, "d1", "a@example") == NULL,
	    "and match nothing");
	p = track_any(tr);
	T_OK(p != NULL && p->seq == 3, "the other client's request remains");
	pending_free(p);
	T_EQ_INT(track_next_deadline(tr), 0, "no deadline when empty");
}

/* Held and written requests: the FIFO a reconnect replays. */
static void
test_fifo(void)
{
	struct pending *p, *q;

	T_EQ_INT(track_add(tr, A, 1, WAIT_SENT, "m", "a@example", "<m1/>", 5,
		     1000, 500),
	    0, "a held message");
	T_EQ_INT(track_add(tr, A, 2, WAIT_SENT, "m", "a@example", "<m2/>", 5,
		     1000, 500),
	    0, "a message may repeat an id (a retry)");
	T_EQ_INT(track_add(tr, B, 3, WAIT_IQ_REPLY, "q", "a@example", "<q/>", 4,
		     1000, 500),
	    0, "a held iq");
	T_EQ_INT(track_add(tr, B, 4, WAIT_IQ_REPLY, "q", "a@example", "<q/>", 4,
		     1000, 500),
	    -1, "but an iq may not, while the first waits");
	T_EQ_INT(track_queued(tr), 3, "three queued");
	p = track_fifo_head(tr);
	T_OK(p->seq == 1 && track_fifo_next(p)->seq == 2 &&
		track_fifo_next(track_fifo_next(p))->seq == 3,
	    "in the order they came");
	T_OK(track_match(tr, WAIT_SENT, "m", "a@example") == NULL,
	    "nothing answers a stanza not yet written");
	T_EQ_INT(
	    track_next_deadline(tr), 500, "a held one is due at hold_until");
	for (q = p; q; q = track_fifo_next(q)) {
		q->state = P_UNACKED;
		q->batch = 1;
	}
	T_EQ_INT(
	    track_next_deadline(tr), 1000, "a written one at its deadline");
	track_requeue(tr, 700);
	T_OK(p->state == P_HELD && p->hold_until == 700 && p->batch == 0,
	    "a broken stream makes written ones held again");
	for (q = p; q; q = track_fifo_next(q))
		q->state = P_UNACKED;
	p = track_match(tr, WAIT_SENT, "m", "a@example/r");
	T_OK(p != NULL && p->what == WAIT_SENT,
	    "a bounce finds a message of that id");
	T_EQ_INT(track_queued(tr), 2, "and takes it out of the FIFO");
	pending_free(p);
	track_drop_client(tr, A);
	p = track_fifo_head(tr);
	T_OK(p != NULL && p->what == WAIT_SENT && p->cl == NULL,
	    "the other, written, stays when its responder leaves");
	track_acked(tr, track_fifo_next(p));
	T_EQ_INT(track_queued(tr), 1, "an acked iq leaves the FIFO");
	q = track_take_acked(tr);
	T_OK(q != NULL && q->seq == 3 && q->raw == NULL,
	    "and is found among the acked ones, without its text");
	pending_free(q);
	pending_free(track_any(tr));
	T_EQ_INT(track_count(tr), 0, "nothing left");
	T_EQ_INT(track_queued(tr), 0, "the FIFO is empty");
	T_OK(track_fifo_head(tr) == NULL, "no head");
}

int
main(void)
{
	if ((tr = track_new()) == NULL)
		return 1;
	test_fifo();
	test_matching();
	test_same_id();
	test_deadlines_and_clients();
	track_free(tr);
	return t_done();
}
