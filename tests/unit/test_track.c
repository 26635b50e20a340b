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

static void
test_matching(void)
{
	struct pending *p;

	T_EQ_INT(
	    track_add(A, 1, WAIT_IQ_REPLY, "q1", "alice@example/phone", 1000),
	    0, "add an iq to a full JID");
	T_OK(track_match(WAIT_IQ_REPLY, "q1", "mallory@example/phone") == NULL,
	    "a reply from another JID does not match");
	T_OK(track_match(WAIT_IQ_REPLY, "q1", "alice@example") == NULL,
	    "nor from the bare JID when a full JID was asked");
	T_OK(track_match(WAIT_IQ_REPLY, "q1", NULL) == NULL, "nor from nobody");
	T_OK(track_match(WAIT_RECEIPT, "q1", "alice@example/phone") == NULL,
	    "a receipt does not complete an iq");
	p = track_match(WAIT_IQ_REPLY, "q1", "Alice@EXAMPLE/phone");
	T_OK(p != NULL && p->cl == A && p->seq == 1,
	    "the addressee's reply matches (case-insensitive local/domain)");
	pending_free(p);
	T_OK(track_match(WAIT_IQ_REPLY, "q1", "alice@example/phone") == NULL,
	    "a second reply matches nothing");
	T_EQ_INT(track_count(), 0, "nothing left waiting");

	track_add(A, 2, WAIT_RECEIPT, "m1", "bob@example", 1000);
	p = track_match(WAIT_RECEIPT, "m1", "bob@example/laptop");
	T_OK(
	    p != NULL, "a receipt from a resource of a bare addressee matches");
	pending_free(p);
	track_add(A, 3, WAIT_IQ_REPLY, "q2", "bob@example/laptop", 1000);
	T_OK(track_match(WAIT_IQ_REPLY, "q2", "bob@example/desk") == NULL,
	    "another resource does not answer for a full JID");
	pending_free(track_match(WAIT_IQ_REPLY, "q2", "bob@example/laptop"));
}

static void
test_same_id(void)
{
	struct pending *p;

	T_EQ_INT(track_add(A, 1, WAIT_IQ_REPLY, "x", "a@example", 1000), 0,
	    "id x to a");
	T_EQ_INT(track_add(B, 2, WAIT_IQ_REPLY, "x", "b@example", 1000), 0,
	    "the same id to another addressee may wait too");
	T_EQ_INT(track_add(B, 3, WAIT_IQ_REPLY, "x", "a@example", 1000), -1,
	    "the same id to the same addressee is a conflict");
	p = track_match(WAIT_IQ_REPLY, "x", "b@example");
	T_OK(p != NULL && p->seq == 2, "each reply finds its own request");
	pending_free(p);
	p = track_match(WAIT_IQ_REPLY, "x", "a@example");
	T_OK(p != NULL && p->seq == 1, "and the other one");
	pending_free(p);
}

static void
test_deadlines_and_clients(void)
{
	struct pending *p;

	track_add(A, 1, WAIT_IQ_REPLY, "d1", "a@example", 500);
	track_add(A, 2, WAIT_IQ_REPLY, "d2", "a@example", 300);
	track_add(B, 3, WAIT_IQ_REPLY, "d3", "a@example", 900);
	T_EQ_INT(track_next_deadline(), 300, "earliest deadline");
	T_OK(track_expired(299) == NULL, "nothing expired before it");
	p = track_expired(300);
	T_OK(p != NULL && p->seq == 2, "the due one expires");
	pending_free(p);
	track_drop_client(A);
	T_EQ_INT(track_count(), 1, "a departed client's requests are gone");
	T_OK(track_match(WAIT_IQ_REPLY, "d1", "a@example") == NULL,
	    "and match nothing");
	p = track_any();
	T_OK(p != NULL && p->seq == 3, "the other client's request remains");
	pending_free(p);
	T_EQ_INT(track_next_deadline(), 0, "no deadline when empty");
}

int
main(void)
{
	test_matching();
	test_same_id();
	test_deadlines_and_clients();
	return t_done();
}
