/*
 * claim-cost: what the bridge's second check of each submitted stanza
 * (bridge/claim.c: libxml2 parse, comparison with the frame's fields,
 * our own serialization) costs per stanza, for a short chat message, a
 * 4 KiB one and one near max_stanza_bytes.  Prints one line per size:
 * microseconds per check and MB/s, the median of five rounds.
 *   build/claim-cost [ROUND_MS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claim.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A SUBMIT frame for a chat message whose body is n bytes of text. */
static int
make_frame(size_t n, struct frame *f, struct frame_out *fo)
{
	static const char head[] =
	    "<message to='alice@example.org' from='bot@rest.example' "
	    "id='b1' type='chat'><body>";
	static const char tail[] = "</body></message>";
	char err[XR_ERRLEN];
	size_t len = sizeof(head) - 1 + n + sizeof(tail) - 1;
	char *xml = malloc(len);

	if (xml == NULL)
		return -1;
	memcpy(xml, head, sizeof(head) - 1);
	for (size_t i = 0; i < n; i++)
		xml[sizeof(head) - 1 + i] = "lorem ipsum "[i % 12];
	memcpy(xml + sizeof(head) - 1 + n, tail, sizeof(tail) - 1);
	frame_begin(fo, FRAME_SUBMIT, 1);
	frame_put_str(fo, FIELD_KIND, "message");
	frame_put_str(fo, FIELD_ID, "b1");
	frame_put_str(fo, FIELD_TO, "alice@example.org");
	frame_put_str(fo, FIELD_FROM, "bot@rest.example");
	frame_put_str(fo, FIELD_TYPE, "chat");
	frame_put(fo, FIELD_STANZA, xml, len);
	free(xml);
	if (frame_finish(fo, err, sizeof(err)) < 0 ||
	    frame_decode(fo->b.data, fo->b.len, f, err, sizeof(err)) <= 0) {
		fprintf(stderr, "claim-cost: %s\n", err);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = {20, 4096, 190000};
	double round_s = (argc > 1 ? atof(argv[1]) : 300) / 1000;
	struct conf c;

	stanza_global_init();
	if (conf_defaults(&c) < 0 || (c.jid = strdup("rest.example")) == NULL)
		return 1;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct frame f = {0};
		struct frame_out fo = {0};
		double per[5];
		size_t bytes;

		if (make_frame(sizes[k], &f, &fo) < 0)
			return 1;
		bytes = f.flen[FIELD_STANZA];
		for (int r = 0; r < 5; r++) {
			double t0 = now_s(), t;
			unsigned long n = 0;

			do {
				struct stanza st;
				struct stanza_error e;

				if (claim_check(&c, &f, &st, &e) < 0) {
					fprintf(stderr,
					    "claim-cost: refused: %s\n",
					    e.text);
					return 1;
				}
				stanza_free(&st);
				n++;
			} while ((t = now_s() - t0) < round_s);
			per[r] = t / (double)n;
		}
		qsort(per, 5, sizeof(per[0]), by_value);
		printf("claim check, %6zu-byte stanza: %8.1f us, %6.1f MB/s\n",
		    bytes, per[2] * 1e6, (double)bytes / per[2] / 1e6);
		frame_clear(&f);
		frame_out_free(&fo);
	}
	conf_free(&c);
	return 0;
}
