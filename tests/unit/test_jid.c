/*
 * JID syntax: the split into parts (RFC 7622 §3.2), every refusal with
 * its reason, UTF-8 validation, and the two comparisons the gateway uses
 * to decide whether a 'from' belongs to it.
 */
#include <stdio.h>
#include <string.h>

#include "jid.h"
#include "util.h"
#include "t.h"

static void
ok(const char *jid, const char *what)
{
	char err[XR_ERRLEN] = "";
	int rc = jid_check(jid, err, sizeof(err));

	T_EQ_STR(rc == 0 ? "valid" : err, "valid", what);
}

static void
bad(const char *jid, const char *reason, const char *what)
{
	char err[XR_ERRLEN] = "";
	int rc = jid_check(jid, err, sizeof(err));

	T_EQ_STR(rc == -1 ? err : "(accepted)", reason, what);
}

/* A string of n copies of c, for the length limits. */
static const char *
fill(char *buf, size_t n, char c)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void
test_valid(void)
{
	ok("example.com", "bare domain");
	ok("user@example.com", "bare JID");
	ok("user@example.com/phone", "full JID");
	ok("example.com/admin", "domain with resource");
	ok("localhost", "single-label domain");
	ok("user@[::1]", "IPv6 literal domain");
	ok("[2001:db8::ffff:192.0.2.1]/r", "IPv6 literal with IPv4 tail");
	ok("user@192.0.2.1", "IPv4 domain");
	ok("a@b/c@d/e f", "resource may hold '@', '/' and spaces");
	ok("a@b/<&'\">", "resource may hold XML specials");
	ok("j\xc3\xbcrgen@m\xc3\xbcnchen.example",
	    "UTF-8 localpart and domain");
	ok("a@b/\xe2\x98\xba\xf0\x9f\x98\x80", "3- and 4-byte UTF-8 resource");
	ok("a.b-c_d+e=f!@x", "punctuation allowed in localpart");
}

static void
test_empty_parts(void)
{
	bad("", "empty JID", "empty string");
	bad("@example.com", "empty localpart", "'@' with empty localpart");
	bad("user@", "empty domainpart", "'@' with empty domain");
	bad("/res", "empty domainpart", "only a resource");
	bad("user@/res", "empty domainpart", "empty domain between @ and /");
	bad("user@example.com/", "empty resourcepart",
	    "'/' with empty resource");
	bad("example.com/", "empty resourcepart",
	    "domain and '/' with empty resource");
}

static void
test_lengths(void)
{
	char part[1100], jid[2300];

	fill(part, 1023, 'a');
	snprintf(jid, sizeof(jid), "%s@x/%s", part, part);
	ok(jid, "1023-byte localpart and resource");
	fill(part, 1024, 'a');
	snprintf(jid, sizeof(jid), "%s@x", part);
	bad(jid, "localpart longer than 1023 bytes", "1024-byte localpart");
	snprintf(jid, sizeof(jid), "x/%s", part);
	bad(jid, "resourcepart longer than 1023 bytes", "1024-byte resource");
	snprintf(jid, sizeof(jid), "u@%s", part);
	bad(jid, "domainpart longer than 1023 bytes", "1024-byte domain");
	fill(part, 1023, 'd');
	ok(part, "1023-byte domain");
	/* Bytes, not characters: 512 two-byte characters are 1024 bytes. */
	jid[0] = '\0';
	for (int i = 0; i < 512; i++)
		strcat(jid, "\xc3\xa9");
	strcat(jid, "@x");
	bad(jid, "localpart longer than 1023 bytes",
	    "length counts bytes of UTF-8");
}

static void
test_localpart_chars(void)
{
	bad("a\"b@x", "forbidden character '\"' in localpart", "'\"'");
	bad("a&b@x", "forbidden character '&' in localpart", "'&'");
	bad("a'b@x", "forbidden character ''' in localpart", "'''");
	bad("a:b@x", "forbidden character ':' in localpart", "':'");
	bad("a<b@x", "forbidden character '<' in localpart", "'<'");
	bad("a>b@x", "forbidden character '>' in localpart", "'>'");
	bad("a b@x", "forbidden character ' ' in localpart", "space");
	bad("a\x01"
	    "b@x",
	    "control character U+0001 in localpart", "C0 control");
	bad("a\x7f@x", "control character U+007F in localpart", "DEL");
	bad("a\tb@x", "control character U+0009 in localpart", "tab");
	/* '@' and '/' cannot end up in a localpart: they end it. */
	bad("a@b@x", "forbidden character '@' in domainpart",
	    "second '@' lands in the domain");
}

static void
test_domain_chars(void)
{
	bad("u@exa mple.com", "forbidden character ' ' in domainpart",
	    "space in domain");
	bad("u@ex\nample", "control character U+000A in domainpart",
	    "newline in domain");
	bad("u@a<b", "forbidden character '<' in domainpart", "'<'");
	bad("u@a>b", "forbidden character '>' in domainpart", "'>'");
	bad("u@a\"b", "forbidden character '\"' in domainpart", "'\"'");
	bad("u@a'b", "forbidden character ''' in domainpart", "'''");
	bad("u@a&b", "forbidden character '&' in domainpart", "'&'");
	bad("u@.example.com", "domainpart starts with a dot", "leading dot");
	bad("u@example.com.", "domainpart ends with a dot", "trailing dot");
	bad("u@a..b", "empty label in domainpart", "empty label");
	bad(".", "domainpart starts with a dot", "just a dot");
	bad("u@[::g]", "malformed IP literal in domainpart",
	    "bad IPv6 literal");
	bad("u@[::1", "malformed IP literal in domainpart",
	    "unterminated IP literal");
	bad("u@[]", "malformed IP literal in domainpart", "empty brackets");
	bad("u@[::1]x", "malformed IP literal in domainpart",
	    "text after the literal");
	bad("u@a]b", "forbidden character ']' in domainpart", "stray bracket");
}

static void
test_resource_chars(void)
{
	bad("u@x/a\nb", "control character U+000A in resourcepart",
	    "newline in resource");
	bad("u@x/a\x7f", "control character U+007F in resourcepart",
	    "DEL in resource");
	bad("u@x/a\xc2\x85", "control character U+0085 in resourcepart",
	    "C1 control (NEL) in resource");
}

static void
test_utf8(void)
{
	bad("caf\xe9@x", "invalid UTF-8 in localpart", "Latin-1 byte");
	bad("u@caf\xe9", "invalid UTF-8 in domainpart",
	    "Latin-1 byte in domain");
	bad("u@x/caf\xe9", "invalid UTF-8 in resourcepart",
	    "Latin-1 byte in resource");
	bad("\xc0\xaf@x", "invalid UTF-8 in localpart", "overlong '/'");
	bad("\xe0\x80\xaf@x", "invalid UTF-8 in localpart", "overlong 3-byte");
	bad("\xed\xa0\x80@x", "invalid UTF-8 in localpart", "surrogate");
	bad("\xf4\x90\x80\x80@x", "invalid UTF-8 in localpart",
	    "above U+10FFFF");
	bad("u@x/\xe2\x98", "invalid UTF-8 in resourcepart",
	    "truncated sequence at the end");
	bad("\xe2\x98@x", "invalid UTF-8 in localpart",
	    "truncated sequence before '@'");
	bad("\x80@x", "invalid UTF-8 in localpart", "lone continuation");
	bad("\xf8\x88\x80\x80\x80@x", "invalid UTF-8 in localpart",
	    "5-byte form");
	ok("\xf4\x8f\xbf\xbf@x", "U+10FFFF is fine");
}

static void
test_is_under(void)
{
	T_EQ_INT(
	    jid_is_under("rest.example", "rest.example"), 1, "domain itself");
	T_EQ_INT(jid_is_under("bot@rest.example", "rest.example"), 1,
	    "local@domain");
	T_EQ_INT(jid_is_under("bot@rest.example/r", "rest.example"), 1,
	    "local@domain/res");
	T_EQ_INT(
	    jid_is_under("rest.example/r", "rest.example"), 1, "domain/res");
	T_EQ_INT(jid_is_under("Bot@REST.Example", "rest.example"), 1,
	    "domain case-insensitive");
	T_EQ_INT(jid_is_under("bot@rest.example", "REST.EXAMPLE"), 1,
	    "configured domain case-insensitive");
	T_EQ_INT(jid_is_under("x@y", "rest.example"), 0, "other domain");
	T_EQ_INT(jid_is_under("x@sub.rest.example", "rest.example"), 0,
	    "subdomain is not under");
	T_EQ_INT(jid_is_under("x@rest.example.evil", "rest.example"), 0,
	    "suffix trick");
	T_EQ_INT(jid_is_under("x@evil/rest.example", "rest.example"), 0,
	    "domain hidden in the resource");
	T_EQ_INT(jid_is_under("rest.example@evil", "rest.example"), 0,
	    "domain hidden in the localpart");
	T_EQ_INT(jid_is_under("a@b@rest.example", "rest.example"), 0,
	    "second '@' is part of the domain");
	T_EQ_INT(jid_is_under(NULL, "rest.example"), 0, "NULL jid");
	T_EQ_INT(jid_is_under("rest.example", ""), 0, "empty domain");
}

static void
test_equal(void)
{
	T_EQ_INT(jid_equal("User@Example.COM/Res", "user@example.com/Res"), 1,
	    "localpart and domain fold ASCII case");
	T_EQ_INT(jid_equal("user@example.com/Res", "user@example.com/res"), 0,
	    "resource is case-sensitive");
	T_EQ_INT(jid_equal("user@example.com", "user@example.com/r"), 0,
	    "bare is not full");
	T_EQ_INT(jid_equal("example.com", "x@example.com"), 0,
	    "domain is not local@domain");
	T_EQ_INT(jid_equal("EXAMPLE.com/a", "example.COM/a"), 1, "domain/res");
	T_EQ_INT(
	    jid_equal("a@b/", "a@b"), 0, "empty resource is not no resource");
	T_EQ_INT(jid_equal("\xc3\x84@x", "\xc3\xa4@x"), 0,
	    "no folding beyond ASCII (left to the server)");
	T_EQ_INT(jid_equal("a@b/c@d", "a@b/c@d"), 1, "identical");
	T_EQ_INT(jid_equal(NULL, "a@b"), 0, "NULL");
}

int
main(void)
{
	test_valid();
	test_empty_parts();
	test_lengths();
	test_localpart_chars();
	test_domain_chars();
	test_resource_chars();
	test_utf8();
	test_is_under();
	test_equal();
	return t_done();
}
