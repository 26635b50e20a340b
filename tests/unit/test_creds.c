/*
 * The credentials file: its parser and every refusal's message, the JID
 * patterns, Bearer and Basic checks (a yescrypt hash made here with
 * libxcrypt), and creds_load's refusal of files others could read or
 * that are symbolic links.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "creds.h"
#include "util.h"
#include "t.h"

#define DOM "rest.example.org"
/* SHA-256 of "abc" (FIPS 180-2 appendix B.1). */
#define ABC_HEX \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ALL (CONF_KIND_MESSAGE | CONF_KIND_PRESENCE | CONF_KIND_IQ)

static char dir[64];

static int
parse(const char *text, struct creds *c, char *err)
{
	err[0] = '\0';
	return creds_parse(text, strlen(text), DOM, c, err, XR_ERRLEN);
}

/* The text must be refused with want in the message, and out left empty. */
static void
refused(const char *text, const char *want, const char *what)
{
	struct creds c = {NULL, 0};
	char err[XR_ERRLEN];

	T_EQ_INT(parse(text, &c, err), -1, what);
	T_HAS(err, want, what);
	T_OK(c.n == 0 && c.v == NULL, "nothing left behind");
	creds_free(&c);
}

static void
test_parse_good(void)
{
	struct creds c;
	char err[XR_ERRLEN];
	const struct cred *cr;

	T_EQ_INT(parse("# comment\n\n   \n\t# indented comment\n"
		       "bot bearer " ABC_HEX "\n"
		       "web\tbasic\t$y$j9T$abc$def\tfrom=*@" DOM ",a@" DOM
		       "/*,x@" DOM "/r kinds=iq,message expires=2000000000 "
		       "created=1700000000\n"
		       "last bearer " ABC_HEX " created=1",
		     &c, err),
	    0, "a good file");
	T_EQ_STR(err, "", "no error");
	T_EQ_INT(c.n, 3, "three entries");
	cr = creds_find(&c, "bot");
	T_OK(cr != NULL, "find bot");
	if (cr) {
		T_EQ_INT(cr->scheme, CRED_BEARER, "bearer");
		T_EQ_STR(cr->hash, ABC_HEX, "its hash");
		T_EQ_INT(cr->nfrom, 0, "no from=: any JID");
		T_EQ_INT(cr->kinds, ALL, "no kinds=: every kind");
		T_EQ_INT(cr->expires, 0, "no expiry");
		T_EQ_INT(cr->created, 0, "no created=");
	}
	cr = creds_find(&c, "web");
	T_OK(cr != NULL, "find web (tab-separated)");
	if (cr) {
		T_EQ_INT(cr->scheme, CRED_BASIC, "basic");
		T_EQ_STR(cr->hash, "$y$j9T$abc$def", "its crypt string");
		T_EQ_INT(cr->nfrom, 3, "three patterns");
		T_EQ_STR(cr->from[1], "a@" DOM "/*", "in order");
		T_EQ_INT(cr->kinds, CONF_KIND_IQ | CONF_KIND_MESSAGE, "kinds");
		T_EQ_INT(cr->expires, 2000000000, "expires");
		T_EQ_INT(cr->created, 1700000000, "created");
	}
	T_OK(creds_find(&c, "last") != NULL, "a last line without newline");
	T_OK(creds_find(&c, "Bot") == NULL, "find is exact");
	T_OK(creds_find(&c, "bo") == NULL, "find is not a prefix match");
	creds_free(&c);

	T_EQ_INT(parse("", &c, err), 0, "an empty file");
	T_EQ_INT(c.n, 0, "has no entries");
	creds_free(&c);
	T_EQ_INT(
	    parse("a bearer " ABC_HEX " from=" DOM " kinds=presence,presence\n"
		  "b basic $6$rounds=5000$salt$hash\n"
		  "c basic $6$salt$hash\n",
		&c, err),
	    0, "bare domain, a repeated kind, sha512-crypt");
	T_EQ_STR(err, "", "no error");
	creds_free(&c);
}

/* A name: its characters, its length, once in a file. */
static void
parse_bad_names(void)
{
	char long_name[CREDS_NAME_MAX + 2], text[CREDS_LINE_MAX + 64];
	struct creds c;
	char err[XR_ERRLEN];

	refused("ok bearer " ABC_HEX "\nb@d bearer " ABC_HEX "\n",
	    "2: a name is 1 to 64 characters", "bad character in a name");
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	snprintf(text, sizeof(text), "%s bearer %s\n", long_name, ABC_HEX);
	refused(text, "1: a name is 1 to 64", "65-byte name");
	long_name[CREDS_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "%s bearer %s\n", long_name, ABC_HEX);
	T_EQ_INT(parse(text, &c, err), 0, "64-byte name");
	creds_free(&c);
	refused("a bearer " ABC_HEX "\n# x\nb bearer " ABC_HEX
		"\na basic $y$j9T$a$b\na bearer " ABC_HEX "\n",
	    "4: a credential named a is already defined above",
	    "duplicate name, at its first repeat");
}

/* The scheme, and a hash of the form its scheme takes. */
static void
parse_bad_hashes(void)
{
	refused("a token " ABC_HEX "\n", "1: unknown scheme 'token'",
	    "unknown scheme");
	refused("a Bearer " ABC_HEX "\n", "unknown scheme 'Bearer'",
	    "schemes are lower case");
	refused("a\n", "1: missing scheme after the name", "only a name");
	refused("a bearer\n", "1: missing hash after the scheme", "no hash");
	refused("a bearer BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410"
		"FF61F20015AD\n",
	    "1: bearer hash must be 64 lower-case hex digits",
	    "upper-case hex");
	refused("a bearer ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410f"
		"f61f20015a\n",
	    "bearer hash must be 64", "63 hex digits");
	refused("a basic abJnggxhB/yWI\n",
	    "1: basic hash must be yescrypt ($y$...) or sha512-crypt",
	    "DES crypt refused");
	refused("a basic *\n", "basic hash must be yescrypt", "'*' refused");
	refused("a basic $1$salt$hash\n", "basic hash must be yescrypt",
	    "md5-crypt refused");
	refused("a basic $y$j9T$salt\n",
	    "1: basic hash is not a well-formed yescrypt string",
	    "yescrypt without a hash field");
	refused("a basic $y$j9T$$hash\n", "not a well-formed yescrypt",
	    "yescrypt with an empty salt");
	refused("a basic $6$sa=lt$hash\n", "not a well-formed sha512-crypt",
	    "'=' outside rounds=");
	refused("a basic $6$salt$ha!sh\n", "not a well-formed sha512-crypt",
	    "character outside crypt's alphabet");
}

/* The options after the hash: known, once each, well formed. */
static void
parse_bad_options(void)
{
	refused("a bearer " ABC_HEX " form=a@" DOM "\n",
	    "1: unknown option 'form='", "a typo in an option");
	refused("a bearer " ABC_HEX " extra\n",
	    "1: unexpected field 'extra' (options are", "a field with no =");
	refused("a bearer " ABC_HEX " kinds=iq kinds=iq\n",
	    "1: kinds= given twice", "an option twice");
	refused("a bearer " ABC_HEX " from=a@" DOM " from=b@" DOM "\n",
	    "from= given twice", "from= twice");
	refused("a bearer " ABC_HEX " from=\n",
	    "1: empty pattern in from=", "empty from=");
	refused("a bearer " ABC_HEX " from=a@" DOM ",,b@" DOM "\n",
	    "empty pattern in from=", "an empty pattern in a list");
	refused("a bearer " ABC_HEX " from=a@other.org\n",
	    "1: pattern 'a@other.org': not under " DOM,
	    "a pattern of another domain");
	refused("a bearer " ABC_HEX " from=a*@" DOM "\n",
	    "pattern 'a*@" DOM "': '*' may only be", "a partial wildcard");
	refused("a bearer " ABC_HEX " kinds=\n",
	    "1: empty kind in kinds=", "empty kinds=");
	refused("a bearer " ABC_HEX " kinds=iq,\n",
	    "empty kind in kinds=", "a trailing comma in kinds=");
	refused("a bearer " ABC_HEX " kinds=iq,stanza\n",
	    "1: unknown kind 'stanza' (message, presence or iq)",
	    "an unknown kind");
	refused("a bearer " ABC_HEX " expires=soon\n",
	    "1: expires= must be Unix time in seconds", "a non-numeric time");
	refused("a bearer " ABC_HEX " expires=0\n", "expires= must be",
	    "expires=0");
	refused("a bearer " ABC_HEX " created=-1\n", "created= must be",
	    "a negative time");
	refused("a bearer " ABC_HEX " expires=253402300800\n",
	    "expires= must be", "a time past year 9999");
}

/* Blanks, line ends and bytes a line may not have. */
static void
parse_bad_bytes(void)
{
	struct creds c;
	char err[XR_ERRLEN];

	refused(
	    "a  bearer " ABC_HEX "\n", "1: two blanks in a row", "two spaces");
	refused("a bearer\t " ABC_HEX "\n", "two blanks in a row",
	    "a tab and a space");
	refused("a bearer " ABC_HEX " \n", "1: blank at the end of the line",
	    "a trailing space");
	refused(" a bearer " ABC_HEX "\n", "1: line starts with a blank",
	    "a leading space");
	refused("a bearer " ABC_HEX "\r\n", "1: carriage return",
	    "a CRLF line end");
	T_EQ_INT(creds_parse("# a\0b\n", 6, DOM, &c, err, sizeof(err)), -1,
	    "a NUL byte");
	T_EQ_STR(err, "1: NUL byte", "is refused, in a comment too");
}

/* The longest line and the largest file that are read. */
static void
parse_bad_sizes(void)
{
	char text[CREDS_LINE_MAX + 64];
	char *big;
	struct creds c;
	char err[XR_ERRLEN];

	text[0] = '#';
	memset(text + 1, 'x', CREDS_LINE_MAX - 1);
	text[CREDS_LINE_MAX] = '\n';
	text[CREDS_LINE_MAX + 1] = '\0';
	T_EQ_INT(parse(text, &c, err), 0, "a line of 4096 bytes");
	creds_free(&c);
	memmove(text + 2, text, CREDS_LINE_MAX + 2);
	text[0] = '\n';
	text[1] = '#';
	refused(text, "2: line longer than 4096 bytes", "a line of 4097");

	if ((big = calloc(1, CREDS_FILE_MAX + 1)) != NULL) {
		memset(big, '\n', CREDS_FILE_MAX + 1);
		T_EQ_INT(creds_parse(big, CREDS_FILE_MAX + 1, DOM, &c, err,
			     sizeof(err)),
		    -1, "a text over CREDS_FILE_MAX");
		T_EQ_STR(err, "larger than 4194304 bytes", "says so");
		T_EQ_INT(
		    creds_parse(big, CREDS_FILE_MAX, DOM, &c, err, sizeof(err)),
		    0, "CREDS_FILE_MAX bytes are fine");
		free(big);
	}
}

static void
test_parse_bad(void)
{
	parse_bad_names();
	parse_bad_hashes();
	parse_bad_options();
	parse_bad_bytes();
	parse_bad_sizes();
}

static void
pattern(const char *p, int want, const char *needle)
{
	char err[XR_ERRLEN], what[160];

	err[0] = '\0';
	snprintf(what, sizeof(what), "pattern '%s' %s", p,
	    want ? "accepted" : "refused");
	T_EQ_INT(creds_pattern_ok(p, DOM, err, sizeof(err)), want, what);
	if (needle != NULL)
		T_HAS(err, needle, "with its reason");
}

static void
test_patterns(void)
{
	char err[XR_ERRLEN];

	pattern(DOM, 1, NULL);
	pattern("REST.Example.ORG", 1, NULL);
	pattern("bot@" DOM, 1, NULL);
	pattern("bot@" DOM "/res", 1, NULL);
	pattern(DOM "/res", 1, NULL);
	pattern("*@" DOM, 1, NULL);
	pattern("*@REST.example.org", 1, NULL);
	pattern("bot@" DOM "/*", 1, NULL);
	pattern("", 0, "empty pattern");
	pattern("bot@other.org", 0, "pattern 'bot@other.org': not under " DOM);
	pattern("*@other.org", 0, "pattern '*@other.org': not under");
	pattern("bot@other.org/*", 0, "not under");
	pattern("bot@" DOM ".evil.com", 0, "not under");
	pattern("bot@evil.com/" DOM, 0, "not under");
	pattern("sub." DOM, 0, "not under");
	pattern("*", 0, "pattern '*': '*' may only be");
	pattern("*@*", 0, "'*' may only be");
	pattern("*@" DOM "/*", 0, "'*' may only be");
	pattern("*@" DOM "/res", 0, "covers every resource");
	pattern("b*t@" DOM, 0, "'*' may only be");
	pattern("bot@" DOM "/r*", 0, "'*' may only be");
	pattern("bot@" DOM "/a/*", 0, "'*' may only be");
	pattern(DOM "/*", 0, "needs a localpart");
	pattern("@" DOM, 0, "empty localpart");
	pattern("a b@" DOM, 0, "space, tab or comma");
	pattern("bot@" DOM "/my res", 0, "space, tab or comma");
	pattern("a<b@" DOM, 0, "forbidden character '<'");
	pattern("bot@" DOM "/\x01", 0, "control character");
	T_EQ_INT(creds_pattern_ok("bot@" DOM, NULL, err, sizeof(err)), 0,
	    "no domain: nothing passes");
	T_HAS(err, "no domain", "says so");
}

/* One credential with the given from= value (NULL: none). */
static void
one(struct creds *c, const char *from)
{
	char text[512], err[XR_ERRLEN];

	snprintf(text, sizeof(text), "x bearer %s%s%s\n", ABC_HEX,
	    from ? " from=" : "", from ? from : "");
	if (parse(text, c, err) != 0 || c->n != 1) {
		printf("# cannot parse %s: %s\n", text, err);
		exit(1);
	}
}

static void
test_allows_from(void)
{
	struct creds c;

	one(&c, NULL);
	T_OK(
	    cred_allows_from(&c.v[0], "anyone@" DOM "/r"), "no from=: any JID");
	T_OK(cred_allows_from(&c.v[0], DOM), "no from=: the domain too");
	T_OK(!cred_allows_from(&c.v[0], NULL), "but not NULL");
	creds_free(&c);

	one(&c, "*@" DOM);
	T_OK(cred_allows_from(&c.v[0], "x@" DOM), "*@: a bare JID");
	T_OK(cred_allows_from(&c.v[0], "x@REST.example.org"),
	    "*@: domain case ignored");
	T_OK(cred_allows_from(&c.v[0], "x@" DOM "/r"), "*@: a full JID");
	T_OK(!cred_allows_from(&c.v[0], DOM), "*@: not the bare domain");
	T_OK(!cred_allows_from(&c.v[0], DOM "/r"), "*@: not domain/res");
	T_OK(!cred_allows_from(&c.v[0], "x@other.org"),
	    "*@: not another domain");
	T_OK(!cred_allows_from(&c.v[0], "x@" DOM ".evil"),
	    "*@: not a longer domain");
	creds_free(&c);

	one(&c, "bot@" DOM "/*");
	T_OK(cred_allows_from(&c.v[0], "bot@" DOM), "/*: the bare JID");
	T_OK(cred_allows_from(&c.v[0], "bot@" DOM "/a"), "/*: a resource");
	T_OK(cred_allows_from(&c.v[0], "bot@rest.EXAMPLE.org/a/b"),
	    "/*: any resource, domain case ignored");
	T_OK(!cred_allows_from(&c.v[0], "Bot@" DOM), "/*: localpart exact");
	T_OK(!cred_allows_from(&c.v[0], "bot2@" DOM), "/*: not a longer one");
	T_OK(!cred_allows_from(&c.v[0], "bo@" DOM), "/*: not a prefix");
	T_OK(!cred_allows_from(&c.v[0], DOM), "/*: not the domain");
	T_OK(!cred_allows_from(&c.v[0], "bot@other.org"),
	    "/*: not another domain");
	creds_free(&c);

	one(&c, "bot@" DOM ",alice@" DOM "/phone," DOM);
	T_OK(cred_allows_from(&c.v[0], "bot@" DOM), "exact bare");
	T_OK(cred_allows_from(&c.v[0], "bot@Rest.Example.Org"),
	    "exact, domain case ignored");
	T_OK(!cred_allows_from(&c.v[0], "BOT@" DOM), "localpart exact");
	T_OK(!cred_allows_from(&c.v[0], "bot@" DOM "/r"),
	    "a bare pattern is not its full JIDs");
	T_OK(cred_allows_from(&c.v[0], "alice@" DOM "/phone"), "exact full");
	T_OK(!cred_allows_from(&c.v[0], "alice@" DOM "/Phone"),
	    "resource exact");
	T_OK(!cred_allows_from(&c.v[0], "alice@" DOM), "full is not bare");
	T_OK(!cred_allows_from(&c.v[0], "alice@" DOM "/phone2"),
	    "resource not a prefix");
	T_OK(cred_allows_from(&c.v[0], DOM), "the domain pattern");
	T_OK(!cred_allows_from(&c.v[0], "carol@" DOM), "nobody else");
	T_OK(!cred_allows_from(&c.v[0], DOM "/r"), "nor domain/res");
	creds_free(&c);
}

static void
test_kinds(void)
{
	struct creds c;
	char err[XR_ERRLEN];
	unsigned long k = 0;

	T_EQ_INT(parse("a bearer " ABC_HEX " kinds=iq\nb bearer " ABC_HEX "\n",
		     &c, err),
	    0, "kinds=iq");
	T_OK(cred_allows_kind(&c.v[0], "iq"), "iq allowed");
	T_OK(!cred_allows_kind(&c.v[0], "message"), "message not");
	T_OK(!cred_allows_kind(&c.v[0], "presence"), "presence not");
	T_OK(cred_allows_kind(&c.v[1], "message") &&
		cred_allows_kind(&c.v[1], "presence") &&
		cred_allows_kind(&c.v[1], "iq"),
	    "no kinds=: all three");
	T_OK(!cred_allows_kind(&c.v[1], "stanza"), "an unknown kind never");
	T_OK(!cred_allows_kind(&c.v[1], "IQ"), "names are exact");
	creds_free(&c);
	T_EQ_INT(creds_kinds_parse("presence,message", &k, err, sizeof(err)), 0,
	    "creds_kinds_parse");
	T_EQ_INT(k, CONF_KIND_PRESENCE | CONF_KIND_MESSAGE, "its bits");
}

static void
test_bearer(void)
{
	char hex[CREDS_HASH_HEX + 1], text[512], err[XR_ERRLEN];
	char long_token[CREDS_TOKEN_MAX + 2];
	struct creds c;
	const struct cred *m;

	T_EQ_INT(creds_hash_token("abc", 3, hex), 0, "hash a token");
	T_EQ_STR(hex, ABC_HEX, "SHA-256, lower-case hex");
	T_EQ_INT(creds_hash_token("xr_secret", 9, hex), 0, "another");
	snprintf(text, sizeof(text),
	    "pw basic $y$j9T$a$b\none bearer %s\ntwo bearer %s\n", ABC_HEX,
	    hex);
	T_EQ_INT(parse(text, &c, err), 0, "two bearer entries");
	m = creds_match_bearer(&c, "abc");
	T_OK(m != NULL && strcmp(m->name, "one") == 0, "right token: one");
	m = creds_match_bearer(&c, "xr_secret");
	T_OK(m != NULL && strcmp(m->name, "two") == 0, "right token: two");
	T_OK(creds_match_bearer(&c, "abd") == NULL, "wrong token");
	T_OK(creds_match_bearer(&c, "xr_secre") == NULL, "a prefix of one");
	T_OK(creds_match_bearer(&c, "xr_secrett") == NULL, "one longer");
	T_OK(creds_match_bearer(&c, "") == NULL, "empty token");
	T_OK(creds_match_bearer(&c, NULL) == NULL, "no token");
	T_OK(creds_match_bearer(&c, "$y$j9T$a$b") == NULL,
	    "a basic hash is no token");
	memset(long_token, 'a', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	T_OK(creds_match_bearer(&c, long_token) == NULL, "an overlong token");
	creds_free(&c);
}

static void
test_basic(void)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], text[1024], err[XR_ERRLEN];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;
	struct creds c;

	if (cd == NULL)
		exit(1);
	T_OK(crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) !=
		NULL,
	    "yescrypt setting");
	h = crypt_rn("s3cret pass", setting, cd, (int)sizeof(*cd));
	T_OK(h != NULL && h[0] == '$', "yescrypt hash");
	snprintf(text, sizeof(text), "web basic %s\ntok bearer %s\n",
	    h ? h : "", ABC_HEX);
	T_OK(crypt_gensalt_rn("$6$", 0, NULL, 0, setting, sizeof(setting)) !=
		NULL,
	    "sha512-crypt setting");
	h = crypt_rn("other", setting, cd, (int)sizeof(*cd));
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    "old basic %s\n", h ? h : "");
	free(cd);
	T_EQ_INT(parse(text, &c, err), 0, "a file with crypt hashes");
	T_EQ_STR(err, "", "no error");
	if (c.n == 3) {
		char long_pw[CREDS_PASSWORD_MAX + 2];

		T_EQ_INT(cred_check_password(&c.v[0], "s3cret pass"), 1,
		    "the right password");
		T_EQ_INT(cred_check_password(&c.v[0], "s3cret pas"), 0,
		    "a wrong one");
		T_EQ_INT(cred_check_password(&c.v[0], "s3cret pass "), 0,
		    "one byte more");
		T_EQ_INT(cred_check_password(&c.v[0], ""), 0, "empty");
		T_EQ_INT(cred_check_password(&c.v[0], NULL), 0, "NULL");
		T_EQ_INT(cred_check_password(&c.v[1], "abc"), 0,
		    "a bearer entry takes no password");
		T_EQ_INT(cred_check_password(&c.v[2], "other"), 1,
		    "sha512-crypt, right");
		T_EQ_INT(cred_check_password(&c.v[2], "Other"), 0,
		    "sha512-crypt, wrong");
		memset(long_pw, 'a', sizeof(long_pw) - 1);
		long_pw[sizeof(long_pw) - 1] = '\0';
		T_EQ_INT(cred_check_password(&c.v[0], long_pw), 0,
		    "a password over CREDS_PASSWORD_MAX");
	}
	creds_free(&c);
}

static void
test_write(void)
{
	struct creds c, again;
	char err[XR_ERRLEN], *out = NULL;
	size_t len = 0;
	FILE *fp;
	struct cred cr;

	T_EQ_INT(parse("a bearer " ABC_HEX " created=5\n"
		       "b basic $y$j9T$a$b from=x@" DOM ",*@" DOM
		       " kinds=iq,presence expires=4000000000 created=7\n",
		     &c, err),
	    0, "two entries");
	memset(&cr, 0, sizeof(cr));
	cr.name = strdup("c");
	cr.hash = strdup(ABC_HEX);
	cr.kinds = ALL;
	cr.expires = 100;
	T_EQ_INT(creds_append(&c, &cr), 0, "append");
	T_OK(cr.name == NULL, "takes the strings");
	T_EQ_INT(c.n, 3, "three");
	T_OK(cred_expired(&c.v[2], 100), "expired at its time");
	T_OK(!cred_expired(&c.v[2], 99), "not before");
	T_OK(!cred_expired(&c.v[0], 1 << 30), "never without expires=");
	fp = open_memstream(&out, &len);
	T_OK(fp != NULL && creds_write(&c, fp) == 0, "write");
	if (fp)
		fclose(fp);
	T_EQ_STR(out,
	    "# Managed by `xmpp-restd token` (see xmpp-restd(8)); must stay "
	    "mode 0600.\n"
	    "a bearer " ABC_HEX " created=5\n"
	    "b basic $y$j9T$a$b from=x@" DOM ",*@" DOM
	    " kinds=presence,iq expires=4000000000 created=7\n"
	    "c bearer " ABC_HEX " expires=100\n",
	    "in the file's format");
	T_EQ_INT(creds_parse(out, len, DOM, &again, err, sizeof(err)), 0,
	    "and read back");
	T_EQ_INT(again.n, 3, "all of it");
	creds_free(&again);
	free(out);
	T_EQ_INT(creds_remove(&c, "b"), 0, "remove b");
	T_EQ_INT(creds_remove(&c, "b"), -1, "b is gone");
	T_EQ_INT(c.n, 2, "two left");
	T_EQ_STR(c.v[1].name, "c", "in order");
	T_EQ_INT(creds_remove(&c, "a"), 0, "remove a");
	T_EQ_INT(creds_remove(&c, "c"), 0, "remove c");
	cr.name = strdup("d");
	cr.hash = strdup(ABC_HEX);
	cr.kinds = ALL;
	T_EQ_INT(creds_append(&c, &cr), 0, "append to an emptied set");
	creds_free(&c);
	creds_free(&c);
	T_EQ_INT(c.n, 0, "creds_free twice is harmless");
}

static int
put_file(
    const char *name, const char *text, mode_t mode, char *path, size_t size)
{
	FILE *fp;

	snprintf(path, size, "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, fp);
	fclose(fp);
	return chmod(path, mode);
}

static void
test_load(void)
{
	char path[128], link[128], err[XR_ERRLEN * 2], want[256];
	struct creds c;

	snprintf(dir, sizeof(dir), "/tmp/xr-creds-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		T_OK(0, "mkdtemp");
		return;
	}
	T_EQ_INT(put_file("good", "a bearer " ABC_HEX "\n", 0600, path,
		     sizeof(path)),
	    0, "a 0600 file");
	T_EQ_INT(creds_load(path, DOM, &c, err, sizeof(err)), 0, "loads");
	T_EQ_INT(c.n, 1, "its entry");
	creds_free(&c);

	snprintf(link, sizeof(link), "%s/link", dir);
	T_EQ_INT(symlink(path, link), 0, "a symbolic link to it");
	T_EQ_INT(creds_load(link, DOM, &c, err, sizeof(err)), -1, "is refused");
	T_HAS(
	    err, "/link: a symbolic link; refusing to follow it", "O_NOFOLLOW");
	T_OK(c.n == 0 && c.v == NULL, "empty");
	unlink(link);
	unlink(path);

	put_file("open", "a bearer " ABC_HEX "\n", 0644, path, sizeof(path));
	T_EQ_INT(creds_load(path, DOM, &c, err, sizeof(err)), -1,
	    "a 0644 file is refused");
	snprintf(want, sizeof(want),
	    "%s is readable or writable by group or others (mode 0644); "
	    "chmod 600 it",
	    path);
	T_EQ_STR(err, want, "saying how to fix it");
	chmod(path, 0620);
	T_EQ_INT(creds_load(path, DOM, &c, err, sizeof(err)), -1,
	    "group-writable too");
	T_HAS(err, "(mode 0620)", "with its mode");
	chmod(path, 0601);
	T_EQ_INT(creds_load(path, DOM, &c, err, sizeof(err)), -1,
	    "and any bit for others");
	unlink(path);

	snprintf(path, sizeof(path), "%s/missing", dir);
	T_EQ_INT(creds_load(path, DOM, &c, err, sizeof(err)), 1,
	    "a missing file: 1");
	T_OK(c.n == 0 && c.v == NULL, "and no entries");

	T_EQ_INT(creds_load(dir, DOM, &c, err, sizeof(err)), -1, "a directory");
	T_HAS(err, ": not a regular file", "is refused");

	put_file("bad", "# one\na bearer " ABC_HEX " kinds=sms\n", 0600, path,
	    sizeof(path));
	T_EQ_INT(
	    creds_load(path, DOM, &c, err, sizeof(err)), -1, "a bad entry");
	snprintf(want, sizeof(want),
	    "%s:2: unknown kind 'sms' (message, presence or iq)", path);
	T_EQ_STR(err, want, "as PATH:LINE: reason");
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_parse_good();
	test_parse_bad();
	test_patterns();
	test_allows_from();
	test_kinds();
	test_bearer();
	test_basic();
	test_write();
	test_load();
	return t_done();
}
