#include "answer.h"

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
