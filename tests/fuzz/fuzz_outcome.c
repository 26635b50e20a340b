/*
 * libFuzzer target for the responder's handling of the bridge's answer
 * (cgi/respond.c respond_outcome, cgi/reply.c): where a 4 KB error type
 * once wrote past a buffer.  The input, split at NUL bytes, is the
 * outcome's fields (an index picks the outcome name), the stanza id and
 * the Accept header; the response written must be one well-formed CGI
 * response whose header lines hold no stray CR/LF and whose
 * Content-Length is the body's length.
 */
#include "../../cgi/respond.c"

#include "cgi_out.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	P_OUTCOME,
	P_ERRTYPE,
	P_COND,
	P_TEXT,
	P_STANZA,
	P_CHALLENGE,
	P_RETRY,
	P_ID,
	P_ACCEPT,
	P_SW,
	P_COUNT
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum field tags[] = {[P_ERRTYPE] = FIELD_ERRTYPE,
	    [P_COND] = FIELD_CONDITION,
	    [P_TEXT] = FIELD_TEXT,
	    [P_STANZA] = FIELD_STANZA,
	    [P_CHALLENGE] = FIELD_CHALLENGE,
	    [P_RETRY] = FIELD_RETRY};
	static struct conf c;
	static int ready;
	char *part[P_COUNT];
	struct fio f;
	struct frame fr;
	struct request rq;
	struct ctx x;
	unsigned sel;

	if (!ready && conf_defaults(&c) < 0)
		abort();
	ready = 1;
	split_input(data, size, part, P_COUNT);
	memset(&fr, 0, sizeof(fr));
	sel = part[P_OUTCOME][0] ? (unsigned char)part[P_OUTCOME][0] : 0;
	/* Mostly a known outcome; sometimes the bytes as they are. */
	fr.field[FIELD_OUTCOME] = sel < 0xf0
	    ? outcome_name((enum outcome)(sel % OUTCOME_COUNT))
	    : part[P_OUTCOME];
	for (int i = P_ERRTYPE; i <= P_RETRY; i++) {
		/* An empty part stands for a field the frame does not carry. */
		if (part[i][0] != '\0') {
			fr.field[tags[i]] = part[i];
			fr.flen[tags[i]] = strlen(part[i]);
		}
	}
	memset(&rq, 0, sizeof(rq));
	rq.kind = REQUEST_SUBMIT;
	strcpy(rq.st.kind, sel & 0x80 ? "iq" : "message");
	rq.st.id = part[P_ID];
	rq.timeout_ms = 1000;
	rq.accept = part[P_ACCEPT][0] ? part[P_ACCEPT] : NULL;
	rq.server_software = part[P_SW];
	fio_init(&f);
	x.io = &f.io;
	x.c = &c;
	x.rq = &rq;
	x.fmt = reply_format(rq.accept);
	respond_outcome(&x, &fr);
	check_response(&f);
	free(f.out);
	for (int i = 0; i < P_COUNT; i++)
		free(part[i]);
	return 0;
}
