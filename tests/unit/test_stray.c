/*
 * Stray answers: an id written is known until STRAY_RING newer ones push
 * it out; one never written is not; each stray is counted and dated.
 */
#include <stdio.h>
#include <time.h>

#include "stray.h"
#include "t.h"

int
main(void)
{
	char id[32];

	T_OK(!stray_was_sent("x"), "nothing written: no id is ours");
	T_OK(!stray_was_sent(NULL), "no id is never ours");
	stray_sent("req-1");
	stray_sent(NULL);
	T_OK(stray_was_sent("req-1"), "an id written is ours");
	T_OK(!stray_was_sent("req-2"), "another is not");
	for (int i = 0; i < STRAY_RING - 1; i++) {
		snprintf(id, sizeof(id), "fill-%d", i);
		stray_sent(id);
	}
	T_OK(stray_was_sent("req-1"), "still ours after STRAY_RING - 1 more");
	stray_sent("one-more");
	T_OK(!stray_was_sent("req-1"), "pushed out by the STRAY_RING-th");
	T_OK(stray_was_sent("one-more") && stray_was_sent("fill-0"),
	    "the newer ones are kept");

	T_EQ_INT(stray_count(), 0, "no stray seen yet");
	T_EQ_INT(stray_last_unix(), 0, "never seen: 0");
	stray_seen("an iq reply", "theirs", "alice@localhost/x", "rest.test");
	stray_seen("a receipt", NULL, NULL, "rest.test");
	T_EQ_INT(stray_count(), 2, "each stray is counted (warned once)");
	T_OK(stray_last_unix() >= (int64_t)time(NULL) - 5 &&
		stray_last_unix() <= (int64_t)time(NULL),
	    "and dated now");
	return t_done();
}
