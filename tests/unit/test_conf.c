/*
 * The configuration parser: defaults, every value type, and the
 * "FILE:LINE: reason" errors that stop the daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"
#include "t.h"

static char path[64];

/* Writes text to a temporary file and loads it; returns conf_load's rc. */
static int
load(const char *text, struct conf *c, char *err)
{
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "/tmp/xr-conf-XXXXXX");
	if ((fd = mkstemp(path)) < 0 || (fp = fdopen(fd, "w")) == NULL)
		return -2;
	fputs(text, fp);
	fclose(fp);
	conf_defaults(c);
	int rc = conf_load(c, path, err, XR_ERRLEN);
	unlink(path);
	return rc;
}

static void
test_defaults(void)
{
	struct conf c;
	char err[XR_ERRLEN];

	T_EQ_INT(load("jid rest.example\n", &c, err), 0, "minimal file");
	T_EQ_STR(c.jid, "rest.example", "jid read");
	T_EQ_STR(c.server, "127.0.0.1", "server default");
	T_EQ_INT(c.port, 5347, "port default");
	T_EQ_INT(c.iq_timeout, 60, "iq_timeout default");
	T_EQ_INT(c.max_stanza_bytes, 196608, "max_stanza_bytes default");
	T_EQ_INT(c.max_stanza_depth, 32, "max_stanza_depth default");
	T_EQ_INT(c.max_stanza_attributes, 64, "max_stanza_attributes default");
	T_OK(c.secret == NULL, "secret has no default");
	T_EQ_INT(conf_check_bridge(&c, "f", err, sizeof(err)), -1,
	    "the bridge needs a secret");
	T_HAS(err, "secret", "and says so");
	conf_free(&c);
}

static void
test_values(void)
{
	struct conf c;
	char err[XR_ERRLEN];

	T_EQ_INT(load("# a comment\n\n  jid  rest.example  # trailing\n"
		      "secret s3cr#t\nport 5348\nlog_level debug\n"
		      "log_target syslog\nsocket /tmp/x.sock\n",
		     &c, err),
	    0, "comments, blank lines, spaces");
	T_EQ_STR(c.jid, "rest.example", "value without trailing comment");
	T_EQ_STR(c.secret, "s3cr#t", "'#' inside a word is kept");
	T_EQ_INT(c.port, 5348, "port read");
	T_EQ_INT(c.log_level, 3, "log_level debug");
	T_EQ_INT(c.log_syslog, 1, "log_target syslog");
	T_EQ_INT(conf_check_bridge(&c, "f", err, sizeof(err)), 0,
	    "complete for the bridge");
	conf_free(&c);

	T_EQ_INT(
	    load("jid a.b\ncallback_url HTTPS://h/{kind}/{to}?f={from}&t={type}"
		 "\ncallback_stanzas iq, message\n"
		 "callback_addresses host\ncallback_ca_file /x.pem\n",
		&c, err),
	    0, "webhook keys");
	T_EQ_STR(c.callback_url, "HTTPS://h/{kind}/{to}?f={from}&t={type}",
	    "callback_url kept as written");
	T_EQ_INT(c.callback_stanzas, CONF_KIND_IQ | CONF_KIND_MESSAGE,
	    "callback_stanzas as a set");
	T_EQ_INT(c.callback_addresses, CONF_ADDR_HOST, "callback_addresses");
	T_EQ_STR(c.callback_ca_file, "/x.pem", "callback_ca_file");
	conf_free(&c);
	T_EQ_INT(load("jid a.b\n", &c, err), 0, "webhook defaults");
	T_OK(c.callback_url == NULL, "no callback_url by default");
	T_EQ_INT(c.callback_stanzas,
	    CONF_KIND_MESSAGE | CONF_KIND_PRESENCE | CONF_KIND_IQ,
	    "every kind by default");
	T_EQ_INT(c.callback_addresses,
	    CONF_ADDR_BARE | CONF_ADDR_FULL | CONF_ADDR_HOST,
	    "every address form by default");
	T_EQ_INT(c.callback_timeout, 10, "callback_timeout default");
	T_EQ_INT(c.callback_max_inflight, 32, "callback_max_inflight default");
	conf_free(&c);
}

static void
test_errors(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"jid a.b\nstanza_max 5\n", ":2: unknown key 'stanza_max'"},
	    {"jid a.b\nport 0\n", ":2: port must be a whole number"},
	    {"jid a.b\nport 65536\n", ":2: port must be"},
	    {"jid a.b\nport 12ab\n", "not '12ab'"},
	    {"jid a.b\nport -1\n", ":2: port"},
	    {"jid a.b\niq_timeout\n", ":2: key 'iq_timeout' has no value"},
	    {"jid a.b\nlog_level loud\n", ":2: log_level must be"},
	    {"jid a.b\nlog_target file\n", ":2: log_target must be"},
	    {"jid a.b\njid c.d\n", ":2: key 'jid' given twice"},
	    {"port 5347\n", "'jid' is not set"},
	    {"jid user@a.b\n", "jid must be the component's domain"},
	    {"jid a.b\niq_timeout 100\niq_max_timeout 50\n",
		"iq_timeout (100) is larger than iq_max_timeout (50)"},
	    {"jid a.b\ncallback_url ftp://x/\n",
		":2: callback_url must start with http:// or https://"},
	    {"jid a.b\ncallback_url http://x/{nope}\n",
		":2: callback_url: unknown placeholder at '{nope}'"},
	    {"jid a.b\ncallback_url http://x/a\x01b\n",
		":2: callback_url contains a space"},
	    {"jid a.b\ncallback_stanzas message,iqq\n",
		":2: callback_stanzas: unknown item 'iqq'"},
	    {"jid a.b\ncallback_addresses ,\n",
		":2: callback_addresses names nothing"},
	    {"jid a.b\ncallback_max_inflight 0\n",
		":2: callback_max_inflight must be"},
	    {"jid a.b\nmax_stanza_bytes 99999999\n",
		":2: max_stanza_bytes must be"},
	    {"jid a.b\nsocket "
	     "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "\n",
		":2: socket must be 1 to 107 characters long"},
	};
	struct conf c;
	char err[XR_ERRLEN], what[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "refused: %s", cases[i].want);
		T_EQ_INT(load(cases[i].text, &c, err), -1, what);
		T_HAS(
		    err, cases[i].want, "error text names file, line, reason");
		conf_free(&c);
	}
	conf_defaults(&c);
	T_EQ_INT(conf_load(&c, "/nonexistent/xr.conf", err, sizeof(err)), -1,
	    "missing file");
	T_HAS(err, "No such file", "missing file says why");
	conf_free(&c);
}

static void
test_long_line(void)
{
	struct conf c;
	char err[XR_ERRLEN];
	char *text = malloc(XR_CONF_LINE_MAX + 64);

	snprintf(text, 32, "jid a.b\nsecret ");
	size_t n = strlen(text);
	memset(text + n, 'x', XR_CONF_LINE_MAX + 10);
	text[n + XR_CONF_LINE_MAX + 10] = '\0';
	T_EQ_INT(load(text, &c, err), -1, "overlong line refused");
	T_HAS(err, ":2: line longer than", "and named");
	conf_free(&c);
	free(text);
}

/* The sample shipped in etc/ must load and name every key. */
static void
test_sample(void)
{
	struct conf c;
	char err[XR_ERRLEN];

	conf_defaults(&c);
	T_EQ_INT(conf_load(&c, "etc/xmpp-rest.conf", err, sizeof(err)), 0,
	    "etc/xmpp-rest.conf loads");
	T_EQ_INT(conf_check_bridge(&c, "etc/xmpp-rest.conf", err, sizeof(err)),
	    0, "and is complete for the bridge");
	conf_free(&c);

	/* Every key of the table is documented there, set to something. */
	FILE *fp = fopen("etc/xmpp-rest.conf", "r");
	char text[16384], what[96];
	size_t n = fp ? fread(text + 1, 1, sizeof(text) - 2, fp) : 0;

	text[0] = '\n';
	text[n + 1] = '\0';
	if (fp)
		fclose(fp);
	/* ... or shown commented out, for keys that are unset by default. */
	for (size_t i = 0; conf_key_name(i) != NULL; i++) {
		char needle[80], commented[80];

		snprintf(needle, sizeof(needle), "\n%s ", conf_key_name(i));
		snprintf(
		    commented, sizeof(commented), "\n#%s ", conf_key_name(i));
		snprintf(what, sizeof(what), "sample documents '%s'",
		    conf_key_name(i));
		T_OK(strstr(text, needle) != NULL ||
			strstr(text, commented) != NULL,
		    what);
	}
}

/* xmpp-rest.conf(5) names every key too. */
static void
test_man_page(void)
{
	FILE *fp = fopen("man/xmpp-rest.conf.5", "r");
	char text[32768], what[96];
	size_t n = fp ? fread(text, 1, sizeof(text) - 1, fp) : 0;

	text[n] = '\0';
	if (fp)
		fclose(fp);
	T_OK(n > 0, "man/xmpp-rest.conf.5 is there");
	for (size_t i = 0; conf_key_name(i) != NULL; i++) {
		snprintf(what, sizeof(what), "xmpp-rest.conf(5) documents '%s'",
		    conf_key_name(i));
		T_OK(strstr(text, conf_key_name(i)) != NULL, what);
	}
}

int
main(void)
{
	test_sample();
	test_man_page();
	test_defaults();
	test_values();
	test_errors();
	test_long_line();
	return t_done();
}
