/*
 * The configuration table against the documents that describe it: the
 * sample etc/xmpp-rest.conf shows every key, xmpp-rest.conf(5) gives every
 * key an entry, and xmpp-restd(8) names every key a SIGHUP does not apply.
 * Run from the top of the tree (make unit, tests/run-all).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "t.h"

/* The whole of path, NUL-terminated, after a '\n' so that the first line
 * starts like every other; NULL if it cannot be read. */
static char *
read_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *text = NULL;
	long len;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) >= 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 &&
	    (text = malloc((size_t)len + 2)) != NULL) {
		text[0] = '\n';
		if (fread(text + 1, 1, (size_t)len, fp) != (size_t)len) {
			free(text);
			text = NULL;
		} else {
			text[len + 1] = '\0';
		}
	}
	fclose(fp);
	return text;
}

/* Whether word stands alone (not inside a longer key name) in the first
 * len bytes of s. */
static int
has_word(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = s; (size_t)(p - s) + n <= len; p++) {
		int before =
		    p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
		int after = (size_t)(p - s) + n < len &&
		    (isalnum((unsigned char)p[n]) || p[n] == '_');

		if (strncmp(p, word, n) == 0 && !before && !after)
			return 1;
	}
	return 0;
}

/* Each key is set on a line of its own, or shown commented out when it
 * is unset by default. */
static void
test_sample(void)
{
	char *text = read_text("etc/xmpp-rest.conf");
	char what[96];

	T_OK(text != NULL, "etc/xmpp-rest.conf is there");
	for (size_t i = 0; text != NULL && conf_key_name(i) != NULL; i++) {
		char set[80], shown[80];

		snprintf(set, sizeof(set), "\n%s ", conf_key_name(i));
		snprintf(shown, sizeof(shown), "\n#%s ", conf_key_name(i));
		snprintf(what, sizeof(what), "the sample shows '%s'",
		    conf_key_name(i));
		T_OK(strstr(text, set) != NULL || strstr(text, shown) != NULL,
		    what);
	}
	free(text);
}

/* Whether a .BI line of the man page (the term of a key's entry, such as
 * ".BI iq_timeout " s" ", iq_max_timeout " s") names key. */
static int
man_entry(const char *text, const char *key)
{
	for (const char *p = strstr(text, "\n.BI "); p != NULL;
	     p = strstr(p + 1, "\n.BI ")) {
		size_t len = strcspn(p + 1, "\n");

		if (has_word(p + 1, len, key))
			return 1;
	}
	return 0;
}

static void
test_man_page(void)
{
	char *text = read_text("man/xmpp-rest.conf.5");
	char what[96];

	T_OK(text != NULL, "man/xmpp-rest.conf.5 is there");
	for (size_t i = 0; text != NULL && conf_key_name(i) != NULL; i++) {
		snprintf(what, sizeof(what),
		    "xmpp-rest.conf(5) has an entry for '%s'",
		    conf_key_name(i));
		T_OK(man_entry(text, conf_key_name(i)), what);
	}
	free(text);
}

/* The SIGHUP entry of xmpp-restd(8) lists the keys a reload keeps. */
static void
test_reload_doc(void)
{
	char *text = read_text("man/xmpp-restd.8");
	const char *start = text ? strstr(text, "\n.B SIGHUP\n") : NULL;
	size_t len = 0;
	char what[96];

	T_OK(start != NULL, "xmpp-restd(8) has a SIGHUP entry");
	if (start != NULL) {
		/* To the next entry or section. */
		const char *tp = strstr(start + 1, "\n.TP");
		const char *sh = strstr(start + 1, "\n.SH");
		const char *end =
		    tp == NULL || (sh != NULL && sh < tp) ? sh : tp;

		len = end ? (size_t)(end - start) : strlen(start);
	}
	for (size_t i = 0; start != NULL && conf_key_name(i) != NULL; i++) {
		if (conf_key_reload(i) == CONF_RELOAD_APPLIES)
			continue;
		snprintf(what, sizeof(what),
		    "xmpp-restd(8) says a SIGHUP keeps '%s'", conf_key_name(i));
		T_OK(has_word(start, len, conf_key_name(i)), what);
	}
	free(text);
}

int
main(void)
{
	test_sample();
	test_man_page();
	test_reload_doc();
	return t_done();
}
