/*
 * Per-credential rates: "N/s" parsing, the token bucket (burst N, refill
 * N per second, Retry-After in whole seconds, at least 1), the table by
 * name, and rate= in the credentials file (a file without it is
 * unlimited).
 */
#include <stdlib.h>

#include "creds.h"
#include "rate.h"
#include "t.h"

static void
test_parse(void)
{
	char err[128];
	unsigned long r = 0;

	T_EQ_INT(rate_parse("2/s", &r, err, sizeof(err)), 0, "2/s parses");
	T_EQ_INT(r, 2, "... as 2 per second");
	T_EQ_INT(rate_parse("1000000/s", &r, err, sizeof(err)), 0,
	    "the largest rate parses");
	T_EQ_INT(rate_parse("0/s", &r, err, sizeof(err)), -1, "0/s is refused");
	T_OK(strstr(err, "1 to 1000000") != NULL, "... naming the range");
	T_EQ_INT(rate_parse("1000001/s", &r, err, sizeof(err)), -1,
	    "past RATE_MAX is refused");
	T_EQ_INT(rate_parse("2", &r, err, sizeof(err)), -1,
	    "a bare number is refused");
	T_OK(strstr(err, "N/s") != NULL, "... saying the form");
	T_EQ_INT(rate_parse("2/m", &r, err, sizeof(err)), -1, "2/m is refused");
	T_EQ_INT(rate_parse("/s", &r, err, sizeof(err)), -1, "/s is refused");
	T_EQ_INT(
	    rate_parse("-1/s", &r, err, sizeof(err)), -1, "-1/s is refused");
	T_EQ_INT(rate_parse("2/s ", &r, err, sizeof(err)), -1,
	    "trailing bytes are refused");
	T_EQ_INT(rate_parse("99999999999999999999/s", &r, err, sizeof(err)), -1,
	    "a huge number is refused");
	/* fuzz_creds: the value was echoed, raw bytes and all, into an
	 * error that reaches the log. */
	T_EQ_INT(rate_parse("createdSSSS,\377# x\n", &r, err, sizeof(err)), -1,
	    "raw bytes are refused");
	T_OK(strchr(err, '\377') == NULL && strchr(err, '\n') == NULL,
	    "... and none of them reaches the error");
}

static void
test_bucket(void)
{
	struct rate_bucket b = {0};
	int64_t t = 1000000;

	T_EQ_INT(rate_take(&b, 2, t), 0, "burst: the first of 2");
	T_EQ_INT(rate_take(&b, 2, t), 0, "burst: the second of 2");
	T_EQ_INT(rate_take(&b, 2, t), 1, "the third at once waits 1 s");
	T_EQ_INT(rate_take(&b, 2, t + 499), 1, "499 ms later: still 1 s");
	T_EQ_INT(rate_take(&b, 2, t + 500), 0, "500 ms later: one more");
	T_EQ_INT(rate_take(&b, 2, t + 500), 1, "... and then none");
	T_EQ_INT(rate_take(&b, 2, t + 60000), 0, "a minute later: full again");
	T_EQ_INT(rate_take(&b, 2, t + 60000), 0, "... 2 of them");
	T_EQ_INT(rate_take(&b, 2, t + 60000), 1, "... not 3 (no hoarding)");
	T_EQ_INT(rate_take(&b, 1, t + 60000), 0,
	    "another rate starts a full bucket");
	T_EQ_INT(rate_take(&b, 1, t + 60000), 1, "... of that rate");
	T_EQ_INT(rate_take(&b, 1, t + 59000), 1,
	    "a clock that steps back adds nothing");

	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 1000; i++)
		(void)rate_take(&b, 1000, t);
	T_EQ_INT(rate_take(&b, 1000, t), 1, "1000/s: the 1001st waits 1 s");
	T_EQ_INT(rate_take(&b, 1000, t + 1), 0, "... 1 ms later one more");
}

static void
test_table(void)
{
	struct rate_table tb = {0};
	struct rate_bucket *a = rate_table_get(&tb, "alice");
	char name[32];
	int same = 1;

	T_OK(a != NULL, "a bucket for alice");
	T_OK(rate_table_get(&tb, "alice") == a, "the same one again");
	T_OK(rate_table_get(&tb, "bob") != a, "bob has his own");
	(void)rate_take(a, 1, 5000);
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "cred-%d", i);
		same &= rate_table_get(&tb, name) != NULL;
	}
	T_OK(same, "500 more names, through growing the table");
	T_OK(rate_table_get(&tb, "alice") == a && a->per_s == 1,
	    "alice's bucket kept across the growth");
	T_EQ_INT(tb.n, 502, "one entry per name");
	rate_table_free(&tb);
	T_EQ_INT(tb.n, 0, "freed");
}

static void
test_file(void)
{
	const char *old = "old bearer "
			  "0000000000000000000000000000000000000000000000000000"
			  "000000000000 kinds=message\n";
	const char *neu = "new bearer "
			  "0000000000000000000000000000000000000000000000000000"
			  "000000000001 rate=2/s\n";
	const char *zero =
	    "zero bearer "
	    "0000000000000000000000000000000000000000000000000000"
	    "000000000002 rate=0/s\n";
	struct creds c = {0};
	char err[256];
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	T_EQ_INT(creds_parse(
		     old, strlen(old), "rest.localhost", &c, err, sizeof(err)),
	    0, "a file from before rate= loads");
	T_EQ_INT(c.n == 1 ? c.v[0].rate : 99, 0, "... and is unlimited");
	creds_free(&c);
	T_EQ_INT(creds_parse(
		     neu, strlen(neu), "rest.localhost", &c, err, sizeof(err)),
	    0, "rate=2/s loads");
	T_EQ_INT(c.n == 1 ? c.v[0].rate : 0, 2, "... as 2 per second");
	fp = open_memstream(&buf, &len);
	T_OK(fp != NULL && creds_write(&c, fp) == 0 && fclose(fp) == 0,
	    "written back");
	T_OK(buf && strstr(buf, " rate=2/s\n") != NULL, "... with rate=2/s");
	free(buf);
	creds_free(&c);
	T_EQ_INT(creds_parse(zero, strlen(zero), "rest.localhost", &c, err,
		     sizeof(err)),
	    -1, "rate=0/s is refused");
	T_OK(strstr(err, "1 to 1000000") != NULL, "... saying why");
}

int
main(void)
{
	test_parse();
	test_bucket();
	test_table();
	test_file();
	return t_done();
}
