/*
 * libFuzzer target for the configuration parser (common/conf.c): the
 * input is a configuration file, read through fmemopen with
 * conf_load_file as conf_load reads a real one.  Besides crashes, leaks
 * and undefined behaviour it checks:
 *
 *  - a refusal says why, as "NAME: reason" or "NAME:LINE: reason" with a
 *    line the input has;
 *  - an accepted file leaves every key within the limits of conf.c's
 *    table (learnt at start-up through conf_set, so the table stays the
 *    one place that states them) and the cross-key rules conf_load
 *    enforces; string values are NUL-terminated, never carry a line
 *    break, surrounding blanks or a comment;
 *  - an accepted configuration written back out as a file is accepted
 *    again and gives the same values;
 *  - conf_check_bridge agrees with whether exactly one of secret and
 *    secret_file, and at most one of the callback pair, was set.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "util.h"

#define NAME "fuzz.conf"
#define PROBE_MAX 16384 /* longer than any line conf_load accepts */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum kind { K_STR, K_URL, K_UINT, K_LEVEL, K_TARGET, K_KINDS, K_ADDRS };

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	unsigned long long min, max; /* length or value; learnt */
	int known;                   /* conf_key_name lists it */
};

#define K(n, k)                                          \
	{                                                \
#n, k, offsetof(struct conf, n), 0, 0, 0 \
	}
static struct key keys[] = {
    K(jid, K_STR),
    K(server, K_STR),
    K(port, K_UINT),
    K(secret, K_STR),
    K(secret_file, K_STR),
    K(socket, K_STR),
    K(iq_timeout, K_UINT),
    K(iq_max_timeout, K_UINT),
    K(max_stanza_bytes, K_UINT),
    K(max_stanza_depth, K_UINT),
    K(max_stanza_attributes, K_UINT),
    K(responder_threads, K_UINT),
    K(max_clients, K_UINT),
    K(client_idle_timeout, K_UINT),
    K(max_pipelined, K_UINT),
    K(callback_url, K_URL),
    K(callback_stanzas, K_KINDS),
    K(callback_addresses, K_ADDRS),
    K(callback_timeout, K_UINT),
    K(callback_max_inflight, K_UINT),
    K(callback_queue_max, K_UINT),
    K(callback_max_response_bytes, K_UINT),
    K(callback_ca_file, K_STR),
    K(callback_secret, K_STR),
    K(callback_secret_file, K_STR),
    K(reconnect_min, K_UINT),
    K(reconnect_max, K_UINT),
    K(retry_after, K_UINT),
    {"log_level", K_LEVEL, offsetof(struct conf, log_level), 0, 3, 0},
    {"log_target", K_TARGET, offsetof(struct conf, log_syslog), 0, 1, 0},
};
#undef K
#define NK (sizeof(keys) / sizeof(keys[0]))

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const kind_names[] = {"message", "presence", "iq"};
static const char *const addr_names[] = {"bare", "full", "host"};

static char **
str_slot(struct conf *c, const struct key *k)
{
	return (char **)(void *)((char *)c + k->off);
}

static unsigned long *
uint_slot(struct conf *c, const struct key *k)
{
	return (unsigned long *)(void *)((char *)c + k->off);
}

static int *
int_slot(struct conf *c, const struct key *k)
{
	return (int *)(void *)((char *)c + k->off);
}

/* Whether conf_set takes a string of len bytes for k. */
static int
takes_len(const struct key *k, size_t len)
{
	static char v[PROBE_MAX + 1];
	struct conf c;
	char err[XR_ERRLEN];
	size_t pre = 0;
	int rc;

	if (k->kind == K_URL) {
		if (len < 7)
			return 0;
		memcpy(v, "http://", 7);
		pre = 7;
	}
	memset(v + pre, 'a', len - pre);
	v[len] = '\0';
	if (conf_defaults(&c) < 0)
		abort();
	rc = conf_set(&c, k->name, v, err, sizeof(err));
	conf_free(&c);
	return rc == 0;
}

static int
takes_uint(const struct key *k, unsigned long long n)
{
	struct conf c;
	char v[32], err[XR_ERRLEN];
	int rc;

	snprintf(v, sizeof(v), "%llu", n);
	if (conf_defaults(&c) < 0)
		abort();
	rc = conf_set(&c, k->name, v, err, sizeof(err));
	conf_free(&c);
	return rc == 0;
}

/* The table's range for k, found through conf_set. */
static void
learn(struct key *k, struct conf *def)
{
	unsigned long long lo, hi;

	if (k->kind == K_STR || k->kind == K_URL) {
		for (lo = 0; lo <= PROBE_MAX && !takes_len(k, (size_t)lo); lo++)
			;
		if (lo > PROBE_MAX)
			abort();
		k->min = lo;
		/* Largest accepted length: takes_len(lo) holds. */
		hi = PROBE_MAX;
		while (lo < hi) {
			unsigned long long mid = lo + (hi - lo + 1) / 2;

			if (takes_len(k, (size_t)mid))
				lo = mid;
			else
				hi = mid - 1;
		}
		k->max = lo;
	} else if (k->kind == K_UINT) {
		unsigned long long d = *uint_slot(def, k);

		if (!takes_uint(k, d))
			abort();
		lo = 0;
		hi = d;
		while (lo < hi) {
			unsigned long long mid = lo + (hi - lo) / 2;

			if (takes_uint(k, mid))
				hi = mid;
			else
				lo = mid + 1;
		}
		k->min = lo;
		lo = d;
		hi = ~0ULL;
		while (lo < hi) {
			unsigned long long mid = lo + (hi - lo) / 2 + 1;

			if (takes_uint(k, mid))
				lo = mid;
			else
				hi = mid - 1;
		}
		k->max = lo;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf def;

	(void)argc;
	(void)argv;
	if (conf_defaults(&def) < 0)
		abort();
	for (size_t i = 0; conf_key_name(i) != NULL; i++) {
		for (size_t j = 0; j < NK; j++) {
			if (strcmp(keys[j].name, conf_key_name(i)) == 0)
				keys[j].known = 1;
		}
	}
	for (size_t j = 0; j < NK; j++) {
		if (keys[j].known)
			learn(&keys[j], &def);
	}
	conf_free(&def);
	return 0;
}

static size_t
count_lines(const uint8_t *data, size_t size)
{
	size_t n = 1;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n')
			n++;
	}
	return n;
}

/* A refusal: "NAME: reason" or "NAME:LINE: reason", LINE in the input. */
static void
check_err(const char *err, size_t lines)
{
	size_t len = strnlen(err, XR_ERRLEN);
	const char *p = err + sizeof(NAME) - 1;

	if (len == 0 || len == XR_ERRLEN)
		abort();
	if (strncmp(err, NAME ":", sizeof(NAME)) != 0)
		abort();
	p++;
	if (isdigit((unsigned char)*p)) {
		char *end;
		unsigned long n = strtoul(p, &end, 10);

		if (n == 0 || n > lines || strncmp(end, ": ", 2) != 0 ||
		    end[2] == '\0')
			abort();
	} else if (p[0] != ' ' || p[1] == '\0') {
		abort();
	}
}

/* A value as split_line leaves it: no line break, blanks or comment. */
static void
check_value(const char *v, size_t len)
{
	if (len == 0 || isspace((unsigned char)v[0]) ||
	    isspace((unsigned char)v[len - 1]) || v[0] == '#' ||
	    memchr(v, '\n', len) != NULL)
		abort();
	for (size_t i = 1; i < len; i++) {
		if (v[i] == '#' && isspace((unsigned char)v[i - 1]))
			abort();
	}
}

static void
check_url(const char *v)
{
	static const char *const holders[] = {
	    "{kind}", "{type}", "{to}", "{from}", NULL};

	if (strncasecmp(v, "http://", 7) != 0 &&
	    strncasecmp(v, "https://", 8) != 0)
		abort();
	for (const char *p = v; *p; p++) {
		size_t i;

		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			abort();
		if (*p != '{')
			continue;
		for (i = 0; holders[i]; i++) {
			if (strncmp(p, holders[i], strlen(holders[i])) == 0)
				break;
		}
		if (holders[i] == NULL)
			abort();
	}
}

static void
check_conf(struct conf *c)
{
	for (size_t j = 0; j < NK; j++) {
		const struct key *k = &keys[j];

		if (!k->known)
			continue;
		switch (k->kind) {
		case K_STR:
		case K_URL: {
			const char *v = *str_slot(c, k);
			size_t len;

			if (v == NULL)
				break;
			len = strlen(v);
			if (len < k->min || len > k->max)
				abort();
			check_value(v, len);
			if (k->kind == K_URL)
				check_url(v);
			break;
		}
		case K_UINT:
			if (*uint_slot(c, k) < k->min ||
			    *uint_slot(c, k) > k->max)
				abort();
			break;
		case K_LEVEL:
		case K_TARGET:
			if (*int_slot(c, k) < (int)k->min ||
			    *int_slot(c, k) > (int)k->max)
				abort();
			break;
		case K_KINDS:
		case K_ADDRS:
			if (*uint_slot(c, k) == 0 || *uint_slot(c, k) > 7)
				abort();
			break;
		}
	}
	if (c->jid == NULL || strpbrk(c->jid, "@/") != NULL ||
	    c->iq_timeout > c->iq_max_timeout ||
	    c->reconnect_min > c->reconnect_max)
		abort();
}

static int
load(const char *text, size_t size, struct conf *c, char *err)
{
	/* A copy, so that reading past the end is an ASan report. */
	char *copy = malloc(size ? size : 1);
	FILE *fp;
	int rc;

	if (copy == NULL)
		abort();
	memcpy(copy, text, size);
	if (conf_defaults(c) < 0)
		abort();
	err[0] = '\0';
	if ((fp = fmemopen(copy, size, "r")) == NULL)
		abort();
	rc = conf_load_file(c, fp, NAME, err, XR_ERRLEN);
	fclose(fp);
	free(copy);
	return rc;
}

static void
put_set(FILE *fp, unsigned long bits, const char *const names[3])
{
	const char *sep = "";

	for (int i = 0; i < 3; i++) {
		if (bits & (1UL << i)) {
			fprintf(fp, "%s%s", sep, names[i]);
			sep = ",";
		}
	}
}

/* c as a configuration file (malloc'd) that conf_load takes again. */
static char *
write_conf(struct conf *c, size_t *len)
{
	char *text = NULL;
	FILE *fp = open_memstream(&text, len);

	if (fp == NULL)
		abort();
	for (size_t j = 0; j < NK; j++) {
		const struct key *k = &keys[j];

		if (!k->known)
			continue;
		switch (k->kind) {
		case K_STR:
		case K_URL:
			if (*str_slot(c, k) != NULL)
				fprintf(
				    fp, "%s %s\n", k->name, *str_slot(c, k));
			break;
		case K_UINT:
			fprintf(fp, "%s %lu\n", k->name, *uint_slot(c, k));
			break;
		case K_LEVEL:
			fprintf(fp, "%s %s\n", k->name,
			    level_names[*int_slot(c, k)]);
			break;
		case K_TARGET:
			fprintf(fp, "%s %s\n", k->name,
			    *int_slot(c, k) ? "syslog" : "stderr");
			break;
		case K_KINDS:
		case K_ADDRS:
			fprintf(fp, "%s ", k->name);
			put_set(fp, *uint_slot(c, k),
			    k->kind == K_KINDS ? kind_names : addr_names);
			fputc('\n', fp);
			break;
		}
	}
	if (fclose(fp) != 0)
		abort();
	return text;
}

static void
same_conf(struct conf *a, struct conf *b)
{
	for (size_t j = 0; j < NK; j++) {
		const struct key *k = &keys[j];
		const char *sa, *sb;

		switch (k->kind) {
		case K_STR:
		case K_URL:
			sa = *str_slot(a, k);
			sb = *str_slot(b, k);
			if ((sa == NULL) != (sb == NULL) ||
			    (sa != NULL && strcmp(sa, sb) != 0))
				abort();
			break;
		case K_UINT:
		case K_KINDS:
		case K_ADDRS:
			if (*uint_slot(a, k) != *uint_slot(b, k))
				abort();
			break;
		case K_LEVEL:
		case K_TARGET:
			if (*int_slot(a, k) != *int_slot(b, k))
				abort();
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c, again;
	char err[XR_ERRLEN];
	char *text;
	size_t len;
	int rc;

	if (load((const char *)data, size, &c, err) < 0) {
		check_err(err, count_lines(data, size));
		conf_free(&c);
		return 0;
	}
	check_conf(&c);

	err[0] = '\0';
	rc = conf_check_bridge(&c, NAME, err, sizeof(err));
	if ((rc == 0) != ((c.secret != NULL) != (c.secret_file != NULL) &&
			     !(c.callback_secret && c.callback_secret_file)))
		abort();
	if (rc < 0)
		check_err(err, 1);

	text = write_conf(&c, &len);
	if (load(text, len, &again, err) < 0)
		abort();
	same_conf(&c, &again);
	free(text);
	conf_free(&again);
	conf_free(&c);
	return 0;
}
