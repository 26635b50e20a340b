/*
 * The callback URL rules (http_url.c): what parses into which scheme,
 * host, port and path, each refusal with the reason it gives, and the
 * host and path limits.
 */
#include <stdio.h>
#include <string.h>

#include "http_url.h"
#include "util.h"
#include "t.h"

static void
url_ok(
    const char *url, int tls, const char *host, unsigned port, const char *path)
{
	struct http_url u;
	char err[XR_ERRLEN] = "", what[600];
	int rc = http_url_parse(url, &u, err, sizeof(err));

	snprintf(what, sizeof(what), "URL %s parses", url);
	T_EQ_INT(rc, 0, what);
	if (rc != 0) {
		printf("# err: %s\n", err);
		return;
	}
	snprintf(what, sizeof(what), "URL %s: tls, host, port, path", url);
	T_OK(u.tls == tls && strcmp(u.host, host) == 0 && u.port == port &&
		strcmp(u.path, path) == 0,
	    what);
}

static void
url_bad(const char *url, const char *reason)
{
	struct http_url u;
	char err[XR_ERRLEN] = "", what[600];

	snprintf(what, sizeof(what), "URL %.60s refused: %s", url, reason);
	T_EQ_INT(http_url_parse(url, &u, err, sizeof(err)), -1, what);
	T_HAS(err, reason, what);
}

static void
test_urls(void)
{
	char big[3000];

	url_ok("http://example.com", 0, "example.com", 80, "/");
	url_ok("https://example.com/hook", 1, "example.com", 443, "/hook");
	url_ok("HTTPS://Example.COM:8443/a/b?x=1&y=%20", 1, "Example.COM", 8443,
	    "/a/b?x=1&y=%20");
	url_ok("hTTp://127.0.0.1:1/", 0, "127.0.0.1", 1, "/");
	url_ok("http://h:65535", 0, "h", 65535, "/");
	url_ok("http://[::1]:8080/x", 0, "::1", 8080, "/x");
	url_ok("https://[2001:db8::1]/", 1, "2001:db8::1", 443, "/");
	url_ok("http://h?q=1", 0, "h", 80, "/?q=1");
	url_ok("http://h/p@q", 0, "h", 80, "/p@q");
	url_ok("http://my_host.local./", 0, "my_host.local.", 80, "/");

	url_bad("ftp://example.com/", "must start with http:// or https://");
	url_bad("example.com/", "must start with http:// or https://");
	url_bad("", "must start with http:// or https://");
	url_bad("http:/example.com", "must start with http:// or https://");
	url_bad("http://user:pw@example.com/", "user:password@");
	url_bad("http://user@example.com/", "user:password@");
	url_bad("http://example.com/a#frag", "fragment");
	url_bad("http://exa mple.com/", "spaces or control");
	url_bad("http://example.com/a b", "spaces or control");
	url_bad("http://example.com/\t", "spaces or control");
	url_bad("http://example.com/\x7f", "spaces or control");
	url_bad("http://example.com/caf\xc3\xa9", "ASCII");
	url_bad("http:///path", "no host");
	url_bad("http://", "no host");
	url_bad("http://:80/", "no host");
	url_bad("http://[]/", "no host");
	url_bad("http://[::1/", "unterminated");
	url_bad("http://[nope]/", "bad IPv6");
	url_bad("http://[::1]x/", "after the host");
	url_bad("http://h:0/", "bad port");
	url_bad("http://h:65536/", "bad port");
	url_bad("http://h:/", "bad port");
	url_bad("http://h:123456/", "bad port");
	url_bad("http://h:8a/", "bad port");
	url_bad("http://h:-1/", "bad port");
	url_bad("http://h:1:2/", "bad port");
	url_bad("http://h%41/", "must not contain '%'");
	url_bad("http://a\\b/", "must not contain '\\'");

	/* The limits: host 255, path 2047. */
	memcpy(big, "http://", 7);
	memset(big + 7, 'a', 255);
	memcpy(big + 7 + 255, "/", 2);
	{
		char host[256];

		memset(host, 'a', 255);
		host[255] = '\0';
		url_ok(big, 0, host, 80, "/");
	}
	big[7 + 255] = 'a';
	memcpy(big + 7 + 256, "/", 2);
	url_bad(big, "longer than 255");
	memcpy(big, "http://h", 8);
	big[8] = '/';
	memset(big + 9, 'p', 2046);
	big[9 + 2046] = '\0';
	{
		struct http_url u;
		char err[XR_ERRLEN];

		T_EQ_INT(http_url_parse(big, &u, err, sizeof(err)), 0,
		    "a 2047-byte path fits");
		T_EQ_INT(strlen(u.path), 2047, "... all of it");
	}
	big[9 + 2046] = 'p';
	big[9 + 2047] = '\0';
	url_bad(big, "longer than 2047");
}

int
main(void)
{
	test_urls();
	return t_done();
}
