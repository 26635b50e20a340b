/*
 * strophe-floor: the memory floor of bench/run.py's table.  A program that
 * does nothing but link libstrophe, initialise it and make a connection
 * object, as the bridge must; it prints its resident set (VmRSS, KiB) and
 * exits.  On Debian 12 its largest part (3.1 of 5.2 MiB, by smaps) is
 * libcrypto, which xmpp_initialize() sets up for TLS whether or not the
 * connection will use it.
 */
#include <stdio.h>
#include <string.h>

#include <strophe.h>

int
main(void)
{
	xmpp_ctx_t *ctx;
	xmpp_conn_t *conn;
	char line[256];
	FILE *f;
	int rc = 1;

	xmpp_initialize();
	if ((ctx = xmpp_ctx_new(NULL, NULL)) == NULL)
		return 1;
	if ((conn = xmpp_conn_new(ctx)) != NULL &&
	    (f = fopen("/proc/self/status", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "VmRSS:", 6) == 0) {
				fputs(line + 6, stdout);
				rc = 0;
			}
		}
		fclose(f);
	}
	if (conn != NULL)
		xmpp_conn_release(conn);
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	return rc;
}
