#include "answer.h"
#include "listener.h"
#include "util.h"

int
answer_frame(struct frame_out *fo, uint32_t seq, const struct answer *a,
    char *err, size_t errlen)
{
	frame_begin(fo, FRAME_OUTCOME, seq);
	frame_put_str(fo, FIELD_OUTCOME, outcome_name(a->outcome));
	if (a->stanza != NULL)
		frame_put(fo, FIELD_STANZA, a->stanza, a->stanza_len);
	frame_put_str(fo, FIELD_ERRTYPE, a->errtype);
	frame_put_str(fo, FIELD_CONDITION, a->condition);
	frame_put_str(fo, FIELD_TEXT, a->text);
	frame_put_str(fo, FIELD_CHALLENGE, a->challenge);
	if (a->status != 0)
		frame_put_uint(fo, FIELD_STATUS, a->status);
	if (a->outcome == OUTCOME_THROTTLED)
		frame_put_uint(fo, FIELD_RETRY, a->retry_after);
	return frame_finish(fo, err, errlen);
}

void
answer_send(struct client *cl, uint32_t seq, const struct answer *a,
    struct answer_tally *t)
{
	struct frame_out fo = {0};
	char why[XR_ERRLEN];
	struct answer busy;
	int ok = 0;

	if (cl != NULL) {
		ok = answer_frame(&fo, seq, a, why, sizeof(why)) == 0;
		if (!ok) {
			char err[XR_ERRLEN];

			/* The answer does not fit in a frame: say so instead.
			 * Only running out of memory stops this one too. */
			busy = (struct answer){.outcome = OUTCOME_BUSY,
			    .condition = "resource-constraint",
			    .text = why};
			a = &busy;
			ok = answer_frame(&fo, seq, a, err, sizeof(err)) == 0;
		}
	}
	if (t != NULL)
		t->n[a->outcome]++;
	if (ok)
		listener_send(cl, &fo);
	frame_out_free(&fo);
}
