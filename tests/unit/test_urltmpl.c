/*
 * callback_url expansion: placeholders filled in and percent-encoded.
 */
#include <string.h>

#include "t.h"
#include "urltmpl.h"
#include "util.h"

/* urltmpl_url: what the webhook client would refuse is refused now. */
static void
test_checked(void)
{
	static char from[1100], big[5000];
	struct urltmpl_values v = {"message", "chat", "bot@rest.example", from};
	char why[XR_ERRLEN];

	memset(from, 'r', sizeof(from) - 1);
	T_EQ_INT(urltmpl_url(
		     "http://h/{kind}", &v, big, sizeof(big), why, sizeof(why)),
	    0, "a short URL passes");
	T_EQ_STR(big, "http://h/message", "and is filled in");
	T_EQ_INT(urltmpl_url("http://h/{from}/{from}", &v, big, sizeof(big),
		     why, sizeof(why)),
	    -1, "a path over the client's 2047 is refused");
	T_HAS(why, "longer than 2047", "saying so, as the client does");
	T_EQ_INT(urltmpl_url("http://h/{from}{from}{from}{from}", &v, big, 4096,
		     why, sizeof(why)),
	    -1, "an expansion over its buffer is refused");
	T_HAS(why, "longer than 4095", "saying so");
	T_EQ_STR(big, "", "and leaves an empty string");
}

int
main(void)
{
	struct urltmpl_values v = {"message", "chat", "bot@rest.example/a b",
	    "alice@example.org/phone?x=1&y"};
	char out[256];

	T_EQ_INT(urltmpl_expand("https://h/{kind}/{type}?to={to}&from={from}",
		     &v, out, sizeof(out)),
	    0, "expand all four");
	T_EQ_STR(out,
	    "https://h/message/chat?to=bot%40rest.example%2Fa%20b&from=alice%"
	    "40example.org%2Fphone%3Fx%3D1%26y",
	    "values percent-encoded, the rest as written");
	T_EQ_INT(urltmpl_expand("http://h/x", &v, out, sizeof(out)), 0,
	    "no placeholder");
	T_EQ_STR(out, "http://h/x", "unchanged");
	v.type = NULL;
	T_EQ_INT(urltmpl_expand(
		     "http://h/{type}/{kind}{kind}", &v, out, sizeof(out)),
	    0, "a NULL value and a repeated placeholder");
	T_EQ_STR(out, "http://h//messagemessage", "NULL fills in nothing");
	v.to = "\xc3\xa9~-._";
	T_EQ_INT(urltmpl_expand("{to}", &v, out, sizeof(out)), 0, "UTF-8");
	T_EQ_STR(out, "%C3%A9~-._", "UTF-8 bytes encoded, unreserved kept");
	T_EQ_INT(urltmpl_expand("http://h/{from}", &v, out, 20), -1,
	    "too long for the buffer");
	T_EQ_INT(urltmpl_expand("http://h/", &v, out, 9), -1,
	    "exactly one byte short");
	T_EQ_INT(urltmpl_expand("http://h/", &v, out, 10), 0, "exact fit");
	test_checked();
	return t_done();
}
