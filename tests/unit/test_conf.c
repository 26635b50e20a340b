/*
 * The configuration parser: defaults, every value type, and the
 * "FILE:LINE: reason" errors that stop the daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "secrets.h"
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
	    /* fuzz_urltmpl: {type} is the sender's, so it would pick the
	     * host */
	    {"jid a.b\ncallback_url http://h-{type}.example/\n",
		":2: callback_url: placeholders go in the path or query"},
	    {"jid a.b\ncallback_url https://h:{kind}?x\n",
		":2: callback_url: placeholders go in the path or query"},
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

/* The sample shipped in etc/ must load (test_conf_docs checks that it
 * shows every key). */
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
}

/* Writes text to a new file of the given mode; its name goes to out. */
static int
put_file(char *out, size_t outlen, const char *text, mode_t mode)
{
	FILE *fp;
	int fd;

	snprintf(out, outlen, "/tmp/xr-secret-XXXXXX");
	if ((fd = mkstemp(out)) < 0 || (fp = fdopen(fd, "w")) == NULL)
		return -1;
	fputs(text, fp);
	fclose(fp);
	return chmod(out, mode);
}

/* Replaces what the file at name holds. */
static void
set_text(const char *name, const char *text)
{
	FILE *fp = fopen(name, "w");

	if (fp != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* Loads text from a file of the given mode as the bridge does: conf_load,
 * conf_check_bridge, secrets_load.  The first failing step's rc. */
static int
load_bridge(const char *text, mode_t mode, struct conf *c, char *err)
{
	char name[64];
	int rc;

	if (put_file(name, sizeof(name), text, mode) < 0)
		return -2;
	conf_defaults(c);
	rc = conf_load(c, name, err, XR_ERRLEN);
	if (rc == 0)
		rc = conf_check_bridge(c, name, err, XR_ERRLEN);
	if (rc == 0)
		rc = secrets_load(c, name, err, XR_ERRLEN);
	unlink(name);
	return rc;
}

/* The responder never stores a secret, and the keys naming them are no
 * error for it. */
static void
test_responder_skips_secrets(void)
{
	struct conf c;
	char name[64], err[XR_ERRLEN];

	put_file(name, sizeof(name),
	    "jid a.b\nsecret s3cret\nsecret_file /x/secret\n"
	    "callback_secret 0123456789abcdef\ncallback_secret_file /x/cb\n"
	    "iq_timeout 7\n",
	    0644);
	conf_defaults(&c);
	T_EQ_INT(conf_load_for(&c, name, CONF_FOR_RESPONDER, err, sizeof(err)),
	    0, "the responder takes a file with every secret key");
	T_OK(c.secret == NULL && c.secret_file == NULL, "secret not stored");
	T_OK(c.callback_secret == NULL && c.callback_secret_file == NULL,
	    "callback_secret not stored");
	T_EQ_INT(c.iq_timeout, 7, "the keys it needs are read");
	conf_free(&c);
	/* A key given twice is still a typo for it. */
	unlink(name);
	put_file(name, sizeof(name), "jid a.b\nsecret x\nsecret y\n", 0644);
	conf_defaults(&c);
	T_EQ_INT(conf_load_for(&c, name, CONF_FOR_RESPONDER, err, sizeof(err)),
	    -1, "a secret given twice");
	T_HAS(err, ":3: key 'secret' given twice", "is refused");
	conf_free(&c);
	unlink(name);
}

/* The responder keeps only what it uses, but refuses what the bridge
 * refuses, in the same words. */
static void
test_responder_keeps_its_keys(void)
{
	static const char text[] =
	    "jid a.b\nport 5348\ncallback_url http://h/x\nuser nobody\n"
	    "spool_dir /s\nauth_fail_limit 3\nretry_after 9\n"
	    "responder_threads 4\nmax_stanza_depth 20\nlog_level debug\n";
	struct conf c;
	char name[64], err[XR_ERRLEN], bridge_err[XR_ERRLEN];

	put_file(name, sizeof(name), text, 0644);
	conf_defaults(&c);
	T_EQ_INT(conf_load_for(&c, name, CONF_FOR_RESPONDER, err, sizeof(err)),
	    0, "the responder reads a file with bridge-only keys");
	T_EQ_STR(c.jid, "a.b", "it keeps jid");
	T_EQ_STR(
	    c.socket, "/run/xmpp-rest/bridge.sock", "the socket's default");
	T_EQ_INT(c.retry_after, 9, "retry_after");
	T_EQ_INT(c.responder_threads, 4, "responder_threads");
	T_EQ_INT(c.max_stanza_depth, 20, "max_stanza_depth");
	T_EQ_INT(c.log_level, 3, "log_level");
	T_OK(c.callback_url == NULL && c.user == NULL && c.spool_dir == NULL &&
		c.server == NULL && c.credentials_file == NULL,
	    "but no bridge-only string, set or default");
	T_OK(c.port == 0 && c.auth_fail_limit == 0 && c.auth == 0,
	    "nor a bridge-only number");
	conf_free(&c);
	unlink(name);

	put_file(name, sizeof(name), "jid a.b\ncallback_timeout 0\n", 0644);
	conf_defaults(&c);
	T_EQ_INT(conf_load_for(&c, name, CONF_FOR_RESPONDER, err, sizeof(err)),
	    -1, "a bad bridge-only value");
	conf_free(&c);
	conf_defaults(&c);
	T_EQ_INT(conf_load(&c, name, bridge_err, sizeof(bridge_err)), -1,
	    "is refused by both programs");
	T_EQ_STR(err, bridge_err, "in the same words");
	conf_free(&c);
	unlink(name);
}

static void
test_secret_pairs(void)
{
	struct conf c;
	char err[XR_ERRLEN];

	T_EQ_INT(load("jid a.b\nsecret s\nsecret_file /x\n", &c, err), 0,
	    "secret and secret_file parse");
	T_EQ_INT(conf_check_bridge(&c, "f", err, sizeof(err)), -1,
	    "both secret and secret_file");
	T_HAS(err, "both 'secret' and 'secret_file'", "names both");
	conf_free(&c);
	T_EQ_INT(load("jid a.b\n", &c, err), 0, "no secret at all");
	T_EQ_INT(conf_check_bridge(&c, "f", err, sizeof(err)), -1,
	    "is refused by the bridge");
	T_HAS(err, "neither 'secret' nor 'secret_file'", "naming both");
	conf_free(&c);
	T_EQ_INT(load("jid a.b\nsecret_file /x\ncallback_secret "
		      "0123456789abcdef\ncallback_secret_file /y\n",
		     &c, err),
	    0, "callback_secret and callback_secret_file parse");
	T_EQ_INT(conf_check_bridge(&c, "f", err, sizeof(err)), -1,
	    "both callback keys");
	T_HAS(err, "both 'callback_secret' and 'callback_secret_file'",
	    "names both");
	conf_free(&c);
	T_EQ_INT(
	    load("jid a.b\nsecret_file /x\n", &c, err), 0, "secret_file alone");
	T_EQ_INT(conf_check_bridge(&c, "f", err, sizeof(err)), 0,
	    "is complete; no callback secret is no signing");
	T_OK(c.callback_secret == NULL, "no callback secret");
	conf_free(&c);
}

static void
test_inline_secret_mode(void)
{
	struct conf c;
	char err[XR_ERRLEN];

	T_EQ_INT(load_bridge(
		     "jid a.b\n# the secret\nsecret s3cret\n", 0640, &c, err),
	    -1, "an inline secret in a 0640 file");
	T_HAS(err,
	    ":3: 'secret' is in a file others can read (mode 0640); put "
	    "it in a file of its own and name that with secret_file",
	    "says where it is and what to do");
	conf_free(&c);
	T_EQ_INT(load_bridge("jid a.b\nsecret_file /nonexistent/s\n"
			     "callback_secret 0123456789abcdef\n",
		     0604, &c, err),
	    -1, "an inline callback_secret in a 0604 file");
	T_HAS(err,
	    ":3: 'callback_secret' is in a file others can read (mode "
	    "0604); put it in a file of its own and name that with "
	    "callback_secret_file",
	    "names callback_secret_file");
	conf_free(&c);
	T_EQ_INT(load_bridge("jid a.b\nsecret s3cret\n", 0600, &c, err), 0,
	    "an inline secret in a 0600 file is the bridge's alone");
	T_EQ_STR(c.secret, "s3cret", "and is used");
	conf_free(&c);
}

/* Both secrets read from their files; the modes that refuse one. */
static void
secret_file_modes(const char *conf, const char *sec, const char *cb)
{
	struct conf c;
	char err[XR_ERRLEN];

	T_EQ_INT(load_bridge(conf, 0640, &c, err), 0,
	    "secret files in a 0640 configuration");
	T_EQ_STR(c.secret, "s3cret with space", "the trailing newline goes");
	T_EQ_STR(c.callback_secret, "0123456789abcdef0123",
	    "a file without a newline");
	conf_free(&c);

	chmod(sec, 0640);
	T_EQ_INT(load_bridge(conf, 0640, &c, err), -1,
	    "a group-readable secret file");
	T_HAS(err, "secret_file: ", "names the key");
	T_HAS(err, sec, "and the file");
	T_HAS(err, "readable or writable by group or others (mode 0640)",
	    "and why");
	conf_free(&c);

	chmod(sec, 0600);
	chmod(cb, 0604);
	T_EQ_INT(load_bridge(conf, 0640, &c, err), -1,
	    "a world-readable callback secret file");
	T_HAS(err, "callback_secret_file: ", "names the key");
	T_HAS(err, "(mode 0604)", "and the mode");
	conf_free(&c);
	chmod(cb, 0600);
}

/* A secret file holds one line, within its key's limits. */
static void
secret_file_contents(const char *conf, const char *sec, const char *cb)
{
	struct conf c;
	char err[XR_ERRLEN], *big;

	set_text(sec, "");
	T_EQ_INT(load_bridge(conf, 0640, &c, err), -1, "an empty secret file");
	T_HAS(err, "is empty", "is named empty");
	T_HAS(err, sec, "with its name");
	conf_free(&c);

	set_text(sec, "\n");
	T_EQ_INT(load_bridge(conf, 0640, &c, err), -1, "a lone newline");
	T_HAS(err, "is empty", "is empty too");
	conf_free(&c);

	big = malloc(SECRETS_FILE_MAX + 8);
	memset(big, 'x', 1024);
	big[1024] = '\0';
	set_text(sec, big);
	T_EQ_INT(load_bridge(conf, 0640, &c, err), -1,
	    "a secret over its key's limit");
	T_HAS(err, "secret must be 1 to 1023 characters long",
	    "says the key's limit");
	T_HAS(err, sec, "naming the file");
	conf_free(&c);

	memset(big, 'x', SECRETS_FILE_MAX + 4);
	big[SECRETS_FILE_MAX + 4] = '\0';
	set_text(sec, big);
	T_EQ_INT(load_bridge(conf, 0640, &c, err), -1, "a huge secret file");
	T_HAS(err, "longer than", "is refused unread");
	conf_free(&c);
	free(big);

	set_text(cb, "too-short\n");
	set_text(sec, "s\n");
	T_EQ_INT(load_bridge(conf, 0640, &c, err), -1,
	    "a callback secret under its key's minimum");
	T_HAS(err, "callback_secret must be 16 to", "says so");
	T_HAS(err, cb, "naming the file");
	conf_free(&c);

	set_text(cb, "0123456789abcdef\nsecond line\n");
	T_EQ_INT(load_bridge(conf, 0640, &c, err), -1, "two lines");
	T_HAS(err, "a second line", "are refused");
	conf_free(&c);
}

/* A secret file is a file of its own, of root or the bridge's user. */
static void
secret_file_kinds(const char *conf, const char *sec, const char *cb)
{
	struct conf c;
	char err[XR_ERRLEN], as_nobody[256];

	unlink(cb);
	/* A symbolic link could point anywhere. */
	T_EQ_INT(symlink(sec, cb), 0, "a symbolic link to the secret");
	T_EQ_INT(load_bridge(conf, 0640, &c, err), -1, "is refused");
	T_HAS(err, "symbolic link", "as one");
	conf_free(&c);
	unlink(cb);
	T_EQ_INT(load_bridge(conf, 0640, &c, err), -1, "a missing file");
	T_HAS(err, "No such file", "says so");
	conf_free(&c);

	/* Whoever owns it could open it up again. */
	if (geteuid() == 0) {
		T_EQ_INT(chown(sec, 12345, 0), 0, "a secret file of uid 12345");
		snprintf(as_nobody, sizeof(as_nobody),
		    "jid a.b\nuser nobody\nsecret_file %s\n", sec);
		T_EQ_INT(load_bridge(as_nobody, 0640, &c, err), -1,
		    "is refused for a bridge that runs as nobody");
		T_HAS(err, "belongs to uid 12345, neither root nor", "why");
		conf_free(&c);
	}
}

static void
test_secret_files(void)
{
	char sec[64], cb[64], conf[256];

	put_file(sec, sizeof(sec), "s3cret with space\n", 0600);
	put_file(cb, sizeof(cb), "0123456789abcdef0123", 0400);
	snprintf(conf, sizeof(conf),
	    "jid a.b\nsecret_file %s\ncallback_secret_file %s\n", sec, cb);
	secret_file_modes(conf, sec, cb);
	secret_file_contents(conf, sec, cb);
	secret_file_kinds(conf, sec, cb);
	unlink(sec);
}

int
main(void)
{
	test_sample();
	test_defaults();
	test_values();
	test_errors();
	test_long_line();
	test_responder_skips_secrets();
	test_responder_keeps_its_keys();
	test_secret_pairs();
	test_inline_secret_mode();
	test_secret_files();
	return t_done();
}
