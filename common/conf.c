/*
 * The configuration file.  One table names every key, its type, default
 * and range, the programs that read it and what a reload does with it, so
 * the sample file, the parser, the reload and the documentation can be
 * checked against one list (conf_value.c parses each type of value).
 * Lines longer than XR_CONF_LINE_MAX, unknown keys, repeated keys and
 * out-of-range values are errors: a typo must stop the daemon, not be
 * ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "conf_key.h"
#include "jid.h"
#include "log.h"
#include "util.h"

#define SUN_PATH_MAX 107 /* sizeof(sockaddr_un.sun_path) - 1 on Linux */

/* The readers and reload columns, short enough to keep rows readable. */
#define BRIDGE CONF_FOR_BRIDGE
#define RESP CONF_FOR_RESPONDER
#define BOTH CONF_FOR_BOTH
#define LIVE CONF_RELOAD_APPLIES
#define KEPT CONF_RELOAD_KEEPS
#define KEPT_SET CONF_RELOAD_KEEPS_SET
#define AT(field) offsetof(struct conf, field)

/*
 * A reload keeps what only a restart can change: the session's identity
 * (jid, server, port, secret), the socket and who may connect to it, the
 * listener's limits, the privileges, the spool and the auth schemes; the
 * webhook's machinery exists only if callback_url was set at start.
 */
static const struct conf_key conf_keys[] = {
    {"jid", BOTH, KEPT, CONF_STR, AT(jid), NULL, 1, 1023},
    {"server", BRIDGE, KEPT, CONF_STR, AT(server), "127.0.0.1", 1, 255},
    {"port", BRIDGE, KEPT, CONF_UINT, AT(port), "5347", 1, 65535},
    {"secret", BRIDGE, KEPT, CONF_SECRET, AT(secret), NULL, 1, 1023},
    /* The file is read again; the secret it holds is secret's value. */
    {"secret_file", BRIDGE, LIVE, CONF_SECRET_FILE, AT(secret_file), NULL, 1,
	4095},
    {"socket", BOTH, KEPT, CONF_STR, AT(socket), "/run/xmpp-rest/bridge.sock",
	1, SUN_PATH_MAX},
    {"iq_timeout", BOTH, LIVE, CONF_UINT, AT(iq_timeout), "60", 1, 86400},
    {"iq_max_timeout", BOTH, LIVE, CONF_UINT, AT(iq_max_timeout), "300", 1,
	86400},
    {"max_stanza_bytes", BOTH, LIVE, CONF_UINT, AT(max_stanza_bytes), "196608",
	256, 512ULL * 1024},
    /* libxml2 stops at depth 256 on its own; stay clear of it. */
    {"max_stanza_depth", BOTH, LIVE, CONF_UINT, AT(max_stanza_depth), "32", 2,
	200},
    {"max_stanza_attributes", BOTH, LIVE, CONF_UINT, AT(max_stanza_attributes),
	"64", 4, 1024},
    {"responder_threads", RESP, LIVE, CONF_UINT, AT(responder_threads), "16", 1,
	256},
    /* libstrophe uses select(): every descriptor must stay below 1024. */
    {"max_clients", BRIDGE, KEPT, CONF_UINT, AT(max_clients), "512", 1, 800},
    /* So idle FastCGI processes do not hold max_clients between requests. */
    {"client_idle_timeout", BRIDGE, KEPT, CONF_UINT, AT(client_idle_timeout),
	"30", 1, 86400},
    {"max_pipelined", BRIDGE, KEPT, CONF_UINT, AT(max_pipelined), "16", 1,
	1024},
    {"user", BRIDGE, KEPT, CONF_STR, AT(user), NULL, 1, 255},
    {"group", BRIDGE, KEPT, CONF_STR, AT(group), NULL, 1, 255},
    {"socket_group", BRIDGE, KEPT, CONF_STR, AT(socket_group), NULL, 1, 255},
    {"allow_uids", BRIDGE, KEPT, CONF_STR, AT(allow_uids), NULL, 1, 1023},
    {"allow_gids", BRIDGE, KEPT, CONF_STR, AT(allow_gids), NULL, 1, 1023},
    {"callback_url", BRIDGE, KEPT_SET, CONF_URL, AT(callback_url), NULL, 8,
	2047},
    {"callback_stanzas", BRIDGE, LIVE, CONF_KINDS, AT(callback_stanzas),
	"message,presence,iq", 0, 0},
    {"callback_addresses", BRIDGE, LIVE, CONF_ADDRS, AT(callback_addresses),
	"bare,full,host", 0, 0},
    {"callback_timeout", BRIDGE, LIVE, CONF_UINT, AT(callback_timeout), "10", 1,
	300},
    /* Each delivery in flight is a worker, a socketpair and a connection:
     * see max_clients. */
    {"callback_max_inflight", BRIDGE, LIVE, CONF_UINT,
	AT(callback_max_inflight), "32", 1, 128},
    {"callback_queue_max", BRIDGE, LIVE, CONF_UINT, AT(callback_queue_max),
	"1024", 0, 100000},
    {"callback_max_response_bytes", BRIDGE, LIVE, CONF_UINT,
	AT(callback_max_response_bytes), "65536", 1024, 512ULL * 1024},
    {"callback_secret", BRIDGE, LIVE, CONF_SECRET, AT(callback_secret), NULL,
	16, 1023},
    {"callback_secret_file", BRIDGE, LIVE, CONF_SECRET_FILE,
	AT(callback_secret_file), NULL, 1, 4095},
    {"callback_ca_file", BRIDGE, LIVE, CONF_STR, AT(callback_ca_file), NULL, 1,
	4095},
    {"spool_dir", BRIDGE, KEPT, CONF_STR, AT(spool_dir),
	"/var/lib/xmpp-rest/spool", 1, 4000},
    {"spool_max_bytes", BRIDGE, KEPT, CONF_UINT, AT(spool_max_bytes),
	"67108864", 0, 1ULL << 40},
    {"retry_max_age", BRIDGE, LIVE, CONF_UINT, AT(retry_max_age), "86400", 1,
	30ULL * 86400},
    {"callback_retry_min", BRIDGE, LIVE, CONF_UINT, AT(callback_retry_min), "1",
	1, 3600},
    {"callback_retry_max", BRIDGE, LIVE, CONF_UINT, AT(callback_retry_max),
	"300", 1, 86400},
    {"queue_max", BRIDGE, LIVE, CONF_UINT, AT(queue_max), "1000", 0, 100000},
    {"queue_wait", BRIDGE, LIVE, CONF_UINT, AT(queue_wait), "10", 0, 3600},
    {"shutdown_wait", BRIDGE, LIVE, CONF_UINT, AT(shutdown_wait), "10", 0, 600},
    {"reconnect_min", BRIDGE, LIVE, CONF_UINT, AT(reconnect_min), "1", 1, 3600},
    {"reconnect_max", BRIDGE, LIVE, CONF_UINT, AT(reconnect_max), "60", 1,
	3600},
    {"retry_after", RESP, LIVE, CONF_UINT, AT(retry_after), "5", 1, 3600},
    {"auth", BRIDGE, KEPT, CONF_AUTH, AT(auth), "bearer,basic", 0, 0},
    {"credentials_file", BRIDGE, LIVE, CONF_STR, AT(credentials_file),
	XR_CREDS_DEFAULT, 1, 4095},
    {"trust_remote_user", BRIDGE, LIVE, CONF_BOOL, AT(trust_remote_user), "no",
	0, 0},
    {"auth_fail_limit", BRIDGE, LIVE, CONF_UINT, AT(auth_fail_limit), "10", 1,
	100000},
    {"auth_fail_window", BRIDGE, LIVE, CONF_UINT, AT(auth_fail_window), "60", 1,
	86400},
    {"log_level", BOTH, LIVE, CONF_LEVEL, AT(log_level), "info", 0, 0},
    {"log_target", BRIDGE, LIVE, CONF_TARGET, AT(log_syslog), "stderr", 0, 0},
};

#undef BRIDGE
#undef RESP
#undef BOTH
#undef LIVE
#undef KEPT
#undef KEPT_SET
#undef AT

#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

int
conf_defaults(struct conf *c)
{
	char err[XR_ERRLEN];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++) {
		if (conf_keys[i].def == NULL)
			continue;
		if (conf_value_set(c, &conf_keys[i], conf_keys[i].def, err,
			sizeof(err)) < 0) {
			conf_free(c);
			return -1;
		}
	}
	return 0;
}

int
conf_set(struct conf *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(conf_keys[i].name, key) == 0)
			return conf_value_set(
			    c, &conf_keys[i], value, err, errlen);
	}
	snprintf(err, errlen, "unknown key '%.64s'", key);
	return -1;
}

static size_t
key_index(const char *key)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(conf_keys[i].name, key) == 0)
			return i;
	}
	return NKEYS;
}

/* Splits "key value # comment" in place; key NULL for a blank line. */
static int
split_line(char *line, char **key, char **value, char *err, size_t errlen)
{
	char *p = line, *end;

	*key = *value = NULL;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	*key = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (*p)
		*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	/* A '#' starts a comment only at the start of a word. */
	for (end = p; *end; end++) {
		if (*end == '#' &&
		    (end == p || isspace((unsigned char)end[-1])))
			break;
	}
	*end = '\0';
	while (end > p && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (*p == '\0') {
		snprintf(err, errlen, "key '%.64s' has no value", *key);
		return -1;
	}
	*value = p;
	return 0;
}

/* Where an inline secret was set, for the bridge's check of who can read
 * the file; see conf_load_for. */
static void
note_secret_line(struct conf *c, const char *key, unsigned long lineno)
{
	if (strcmp(key, "secret") == 0)
		c->secret_line = lineno;
	else if (strcmp(key, "callback_secret") == 0)
		c->callback_secret_line = lineno;
}

/* What no single line can show: jid is set and a domain, and each pair
 * of bounds is in order. */
static int
check_keys(const struct conf *c, const char *name, char *err, size_t errlen)
{
	char why[XR_ERRLEN];

	if (c->jid == NULL) {
		snprintf(err, errlen, "%s: 'jid' is not set", name);
		return -1;
	}
	if (strpbrk(c->jid, "@/") != NULL) {
		snprintf(err, errlen,
		    "%s: jid must be the component's domain, not '%.100s'",
		    name, c->jid);
		return -1;
	}
	if (jid_check(c->jid, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: jid: %s", name, why);
		return -1;
	}
	if (c->iq_timeout > c->iq_max_timeout) {
		snprintf(err, errlen,
		    "%s: iq_timeout (%lu) is larger than iq_max_timeout (%lu)",
		    name, c->iq_timeout, c->iq_max_timeout);
		return -1;
	}
	if (c->callback_retry_min > c->callback_retry_max) {
		snprintf(err, errlen,
		    "%s: callback_retry_min (%lu) is larger than "
		    "callback_retry_max (%lu)",
		    name, c->callback_retry_min, c->callback_retry_max);
		return -1;
	}
	if (c->reconnect_min > c->reconnect_max) {
		snprintf(err, errlen,
		    "%s: reconnect_min (%lu) is larger than reconnect_max "
		    "(%lu)",
		    name, c->reconnect_min, c->reconnect_max);
		return -1;
	}
	return 0;
}

/* The responder runs as the web server's user and faces every request:
 * it keeps no value it does not use.  The keys it drops were checked as
 * the bridge checks them, so both refuse the same files. */
static void
drop_unused(struct conf *c)
{
	struct conf none;

	memset(&none, 0, sizeof(none));
	for (size_t i = 0; i < NKEYS; i++) {
		if ((conf_keys[i].readers & CONF_FOR_RESPONDER) == 0)
			conf_key_move(c, &none, i);
	}
}

static int
load_stream(struct conf *c, FILE *fp, const char *name, enum conf_reader who,
    char *err, size_t errlen)
{
	char line[XR_CONF_LINE_MAX + 2], why[XR_ERRLEN];
	unsigned char seen[NKEYS] = {0};
	unsigned long lineno = 0;

	while (fgets(line, sizeof(line), fp) != NULL) {
		char *key, *value;
		size_t len = strlen(line), k;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(fp)) {
			snprintf(why, sizeof(why), "line longer than %d bytes",
			    XR_CONF_LINE_MAX);
			goto fail;
		}
		if (split_line(line, &key, &value, why, sizeof(why)) < 0)
			goto fail;
		if (key == NULL)
			continue;
		if ((k = key_index(key)) < NKEYS && seen[k]) {
			snprintf(
			    why, sizeof(why), "key '%.64s' given twice", key);
			goto fail;
		}
		if (k < NKEYS &&
		    (conf_keys[k].type == CONF_SECRET ||
			conf_keys[k].type == CONF_SECRET_FILE)) {
			seen[k] = 1;
			if (who == CONF_FOR_RESPONDER)
				continue;
			note_secret_line(c, key, lineno);
		}
		if (conf_set(c, key, value, why, sizeof(why)) < 0)
			goto fail;
		seen[k] = 1;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	return check_keys(c, name, err, errlen);
fail:
	snprintf(err, errlen, "%s:%lu: %s", name, lineno, why);
	return -1;
}

int
conf_load_file(
    struct conf *c, FILE *fp, const char *name, char *err, size_t errlen)
{
	return load_stream(c, fp, name, CONF_FOR_BRIDGE, err, errlen);
}

int
conf_load_for(struct conf *c, const char *path, enum conf_reader who, char *err,
    size_t errlen)
{
	struct stat st;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* The file as opened, not as a second lookup of path finds it. */
	if (fstat(fileno(fp), &st) == 0) {
		c->origin_known = 1;
		c->origin_mode = (unsigned)(st.st_mode & 07777);
		c->origin_uid = (unsigned long)st.st_uid;
	}
	rc = load_stream(c, fp, path, who, err, errlen);
	fclose(fp);
	if (rc == 0 && who == CONF_FOR_RESPONDER)
		drop_unused(c);
	return rc;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	return conf_load_for(c, path, CONF_FOR_BRIDGE, err, errlen);
}

int
conf_check_bridge(
    const struct conf *c, const char *path, char *err, size_t errlen)
{
	if (c->secret == NULL && c->secret_file == NULL) {
		snprintf(err, errlen,
		    "%s: neither 'secret' nor 'secret_file' is set; name the "
		    "file holding the component secret with secret_file",
		    path);
		return -1;
	}
	if (c->secret != NULL && c->secret_file != NULL) {
		snprintf(err, errlen,
		    "%s: both 'secret' and 'secret_file' are set; keep one "
		    "(secret_file)",
		    path);
		return -1;
	}
	if (c->callback_secret != NULL && c->callback_secret_file != NULL) {
		snprintf(err, errlen,
		    "%s: both 'callback_secret' and 'callback_secret_file' "
		    "are set; keep one (callback_secret_file)",
		    path);
		return -1;
	}
	return 0;
}

const char *
conf_key_name(size_t i)
{
	return i < NKEYS ? conf_keys[i].name : NULL;
}

enum conf_reload
conf_key_reload(size_t i)
{
	return conf_keys[i].reload;
}

/* The three C types a key's value is stored as. */
enum slot { SLOT_STRING, SLOT_ULONG, SLOT_INT };

static enum slot
slot_of(enum conf_type t)
{
	switch (t) {
	case CONF_STR:
	case CONF_URL:
	case CONF_SECRET:
	case CONF_SECRET_FILE:
		return SLOT_STRING;
	case CONF_UINT:
	case CONF_KINDS:
	case CONF_ADDRS:
	case CONF_AUTH:
		return SLOT_ULONG;
	case CONF_LEVEL:
	case CONF_TARGET:
	case CONF_BOOL:
		return SLOT_INT;
	}
	return SLOT_INT;
}

/* Where key i's value is in c. */
static void *
slot(struct conf *c, size_t i)
{
	return (char *)c + conf_keys[i].offset;
}

static const void *
const_slot(const struct conf *c, size_t i)
{
	return (const char *)c + conf_keys[i].offset;
}

int
conf_key_same(const struct conf *a, const struct conf *b, size_t i)
{
	const void *pa = const_slot(a, i), *pb = const_slot(b, i);
	const char *sa, *sb;

	switch (slot_of(conf_keys[i].type)) {
	case SLOT_STRING:
		sa = *(const char *const *)pa;
		sb = *(const char *const *)pb;
		return sa == NULL || sb == NULL ? sa == sb
						: strcmp(sa, sb) == 0;
	case SLOT_ULONG:
		return *(const unsigned long *)pa == *(const unsigned long *)pb;
	case SLOT_INT:
		return *(const int *)pa == *(const int *)pb;
	}
	return 0;
}

int
conf_key_is_set(const struct conf *c, size_t i)
{
	return slot_of(conf_keys[i].type) != SLOT_STRING ||
	    *(const char *const *)const_slot(c, i) != NULL;
}

void
conf_key_move(struct conf *dst, struct conf *src, size_t i)
{
	void *to = slot(dst, i), *from = slot(src, i);

	switch (slot_of(conf_keys[i].type)) {
	case SLOT_STRING:
		free(*(char **)to);
		*(char **)to = *(char **)from;
		*(char **)from = NULL;
		break;
	case SLOT_ULONG:
		*(unsigned long *)to = *(unsigned long *)from;
		break;
	case SLOT_INT:
		*(int *)to = *(int *)from;
		break;
	}
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (slot_of(conf_keys[i].type) == SLOT_STRING) {
			char **p = slot(c, i);

			free(*p);
			*p = NULL;
		}
	}
}
