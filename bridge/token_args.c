/*
 * The command line of `token add` and `password add`: the options after
 * NAME (--from, --kinds, --expires, --rate) read and checked, and the
 * usage message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "creds.h"
#include "rate.h"
#include "token_priv.h"
#include "util.h"

int
token_usage(const char *cmd)
{
	fprintf(stderr,
	    "usage: xmpp-restd [-c file] %s add NAME [--from JID[,JID...]]... "
	    "[--kinds KINDS]\n"
	    "           [--expires YYYY-MM-DD[THH:MM:SSZ]] [--rate N/s]\n"
	    "       xmpp-restd [-c file] %s list\n"
	    "       xmpp-restd [-c file] %s revoke NAME\n",
	    cmd, cmd, cmd);
	return 2;
}

void
token_opts_free(struct token_opts *o)
{
	for (size_t i = 0; i < o->nfrom; i++)
		free(o->from[i]);
	free(o->from);
	memset(o, 0, sizeof(*o));
}

static int
days_in_month(unsigned y, unsigned m)
{
	static const int days[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return days[m - 1] + (m == 2 && leap);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, y >= 1970);
 * H. Hinnant's days_from_civil, so no timegm() is needed. */
static int64_t
days_from_civil(unsigned y, unsigned m, unsigned d)
{
	unsigned yy = m <= 2 ? y - 1 : y;
	unsigned era = yy / 400, yoe = yy % 400;
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

static unsigned
digits(const char *s, size_t n)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

/* "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ" into Unix time. */
static int
parse_date(const char *s, int64_t *out)
{
	static const char full[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t len = strlen(s);
	unsigned y, mo, d, h = 0, mi = 0, sec = 0;

	if (len != 10 && len != sizeof(full) - 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (full[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != full[i])
			return -1;
	}
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (len > 10) {
		h = digits(s + 11, 2);
		mi = digits(s + 14, 2);
		sec = digits(s + 17, 2);
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > (unsigned)days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 +
	    (int64_t)mi * 60 + sec;
	return 0;
}

/* Adds the comma-separated patterns of one --from to o (free_opts frees
 * them, a refused one too). */
static int
add_from(const struct conf *c, struct token_opts *o, const char *arg)
{
	char err[XR_ERRLEN];
	char **v;

	for (;;) {
		size_t len = strcspn(arg, ",");

		if ((v = realloc(o->from, (o->nfrom + 1) * sizeof(*v))) ==
		    NULL) {
			token_say("out of memory");
			return -1;
		}
		o->from = v;
		if ((v[o->nfrom] = strndup(arg, len)) == NULL) {
			token_say("out of memory");
			return -1;
		}
		if (!creds_pattern_ok(
			v[o->nfrom++], c->jid, err, sizeof(err))) {
			token_say("--from: %s", err);
			return -1;
		}
		if (arg[len] == '\0')
			return 0;
		arg += len + 1;
	}
}

/*
 * The value of option name at argv[*i], as "--name VALUE" or
 * "--name=VALUE": 1 (and *i moved past it), 0 if argv[*i] is another
 * option, -1 if the value is missing.
 */
static int
opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

int
token_opts_parse(const struct conf *c, const char *cmd, int argc, char **argv,
    struct token_opts *o)
{
	char err[XR_ERRLEN];
	const char *v = ""; /* set by opt_value when it returns 1 */

	for (int i = 0; i < argc; i++) {
		int r;

		if ((r = opt_value(argc, argv, &i, "--from", &v)) == 1) {
			if (add_from(c, o, v) < 0)
				return 1;
		} else if (r == 0 &&
		    (r = opt_value(argc, argv, &i, "--kinds", &v)) == 1) {
			if (o->kinds != 0) {
				token_say("--kinds given twice");
				return token_usage(cmd);
			}
			if (creds_kinds_parse(v, &o->kinds, err, sizeof(err)) <
			    0) {
				token_say("--kinds: %s", err);
				return 1;
			}
		} else if (r == 0 &&
		    (r = opt_value(argc, argv, &i, "--expires", &v)) == 1) {
			if (o->expires != 0) {
				token_say("--expires given twice");
				return token_usage(cmd);
			}
			if (parse_date(v, &o->expires) < 0) {
				token_say(
				    "--expires: '%.64s' is not YYYY-MM-DD or "
				    "YYYY-MM-DDTHH:MM:SSZ (UTC)",
				    v);
				return 1;
			}
			if (o->expires <= (int64_t)time(NULL)) {
				token_say(
				    "--expires: %.64s is not in the future", v);
				return 1;
			}
		} else if (r == 0 &&
		    (r = opt_value(argc, argv, &i, "--rate", &v)) == 1) {
			if (o->rate != 0) {
				token_say("--rate given twice");
				return token_usage(cmd);
			}
			if (rate_parse(v, &o->rate, err, sizeof(err)) < 0) {
				token_say("--rate: %s", err);
				return 1;
			}
		} else if (r < 0) {
			token_say("%s needs a value", argv[i]);
			return token_usage(cmd);
		} else {
			token_say("unknown option '%.64s'", argv[i]);
			return token_usage(cmd);
		}
	}
	return 0;
}
