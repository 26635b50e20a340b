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
	struct stray *sy = stray_new();
	char id[32];

	if (sy == NULL)
		return 1;

	T_OK(!stray_was_sent(sy, "x"), "nothing written: no id is ours");
	T_OK(!stray_was_sent(sy, NULL), "no id is never ours");
	stray_sent(sy, "req-1");
	stray_sent(sy, NULL);
	T_OK(stray_was_sent(sy, "req-1"), "an id written is ours");
	T_OK(!stray_was_sent(sy, "req-2"), "another is not");
	for (int i = 0; i < STRAY_RING - 1; i++) {
		snprintf(id, sizeof(id), "fill-%d", i);
		stray_sent(sy, id);
	}
	T_OK(stray_was_sent(sy, "req-1"),
	    "still ours after STRAY_RING - 1 more");
	stray_sent(sy, "one-more");
	T_OK(!stray_was_sent(sy, "req-1"), "pushed out by the STRAY_RING-th");
	T_OK(stray_was_sent(sy, "one-more") && stray_was_sent(sy, "fill-0"),
	    "the newer ones are kept");

	T_EQ_INT(stray_count(sy), 0, "no stray seen yet");
	T_EQ_INT(stray_last_unix(sy), 0, "never seen: 0");
	stray_seen(
	    sy, "an iq reply", "theirs", "alice@localhost/x", "rest.test");
	stray_seen(sy, "a receipt", NULL, NULL, "rest.test");
	T_EQ_INT(stray_count(sy), 2, "each stray is counted (warned once)");
	T_OK(stray_last_unix(sy) >= (int64_t)time(NULL) - 5 &&
		stray_last_unix(sy) <= (int64_t)time(NULL),
	    "and dated now");
	stray_free(sy);
	return t_done();
}
