/*
 * libFuzzer target for the bridge's check of a submit frame
 * (bridge/claim.c over common/stanza.c): what a forged frame can make
 * the bridge write.  The input is the frame's fields KIND, ID, TO, FROM
 * and TYPE and then its STANZA, separated by NUL bytes (fewer NULs: the
 * later fields are absent).  The frame is built and decoded with the
 * socket protocol's own code, as the bridge gets it.  Besides crashes,
 * leaks and undefined behaviour it checks:
 *
 *  - a refusal carries one of the documented statuses and a one-line
 *    reason, and leaves the stanza empty;
 *  - an accepted frame writes one stanza that, parsed again, is of the
 *    frame's KIND and has its ID, TO and TYPE byte for byte, and FROM
 *    with the domain spelled as configured: the bridge writes only what
 *    it authorized.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "fuzz_util.h"
#include "jid.h"

#define DOMAIN "rest.example"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct conf conf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	stanza_global_init();
	if (conf_defaults(&conf) < 0 || (conf.jid = strdup(DOMAIN)) == NULL)
		abort();
	return 0;
}

static void
check_refusal(const struct stanza *st, const struct stanza_error *e)
{
	int s = e->status;

	if (s != 400 && s != 403 && s != 413 && s != 422 && s != 500)
		abort();
	if (e->text[0] == '\0' || strchr(e->text, '\n') ||
	    strchr(e->text, '\r'))
		abort();
	if (st->xml != NULL || st->id != NULL || st->to != NULL)
		abort();
}

/* What was written, parsed again, is what the frame said. */
static void
check_written(const struct frame *f, const struct stanza *st)
{
	/* The root may have gained from and id; the text is escaped. */
	static const struct stanza_limits slack = {1u << 22, 64, 80};
	const char *from = frame_get(f, FIELD_FROM);
	char *norm = jid_with_domain(from, DOMAIN);
	struct stanza again;
	struct stanza_error e;

	if (norm == NULL)
		abort();
	if (stanza_parse(st->xml, st->xml_len, &slack, DOMAIN, &again, &e) <
	    0) {
		fprintf(stderr, "written, refused again: %s\n%s\n", e.text,
		    st->xml);
		abort();
	}
	if (!str_eq(again.kind, frame_get(f, FIELD_KIND)) ||
	    !str_eq(again.id, frame_get(f, FIELD_ID)) ||
	    !str_eq(again.to, frame_get(f, FIELD_TO)) ||
	    !str_eq(again.type, frame_get(f, FIELD_TYPE)) ||
	    !str_eq(again.from, norm) || !jid_is_under(again.from, DOMAIN)) {
		fprintf(stderr, "written is not what was authorized:\n%s\n",
		    st->xml);
		abort();
	}
	stanza_free(&again);
	free(norm);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum field order[] = {
	    FIELD_KIND, FIELD_ID, FIELD_TO, FIELD_FROM, FIELD_TYPE};
	struct frame_out fo = {0};
	struct frame f = {0};
	struct stanza st;
	struct stanza_error e;
	const char *p = (const char *)data, *end = p + size;
	char err[XR_ERRLEN];
	size_t i;

	frame_begin(&fo, FRAME_SUBMIT, 1);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		if (nul == NULL)
			break;
		frame_put(&fo, order[i], p, (size_t)(nul - p));
		p = nul + 1;
	}
	if (i == sizeof(order) / sizeof(order[0]))
		frame_put(&fo, FIELD_STANZA, p, (size_t)(end - p));
	if (frame_finish(&fo, err, sizeof(err)) < 0 ||
	    frame_decode(fo.b.data, fo.b.len, &f, err, sizeof(err)) <= 0) {
		frame_out_free(&fo);
		return 0;
	}
	if (claim_check(&conf, &f, &st, &e) == 0) {
		check_written(&f, &st);
		stanza_free(&st);
	} else {
		check_refusal(&st, &e);
	}
	frame_clear(&f);
	frame_out_free(&fo);
	return 0;
}
