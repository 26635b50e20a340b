/*
 * `xmpp-restd status` speaks to the running bridge over its socket, as a
 * responder would, so it sees what the responders see: a bridge that
 * does not answer is reported as such, with exit status 1.
 */
#include <stdio.h>

#include "bridge_client.h"
#include "status_cmd.h"
#include "util.h"

#define STATUS_TIMEOUT_MS 5000

int
status_cmd(const struct conf *c)
{
	struct frame_out fo = {0};
	struct frame f;
	char err[XR_ERRLEN];
	const char *text;
	enum bridge_rc rc;

	frame_begin(&fo, FRAME_STATUS, 1);
	if (frame_finish(&fo, err, sizeof(err)) < 0) {
		frame_out_free(&fo);
		fprintf(stderr, "xmpp-restd: %s\n", err);
		return 1;
	}
	rc = bridge_call(
	    NULL, c->socket, &fo, 1, STATUS_TIMEOUT_MS, &f, err, sizeof(err));
	frame_out_free(&fo);
	if (rc != BRIDGE_OK) {
		fprintf(
		    stderr, "xmpp-restd: no status from the bridge: %s\n", err);
		return 1;
	}
	text = frame_get(&f, FIELD_TEXT);
	if (text == NULL) {
		fprintf(stderr, "xmpp-restd: the bridge sent no status\n");
		frame_clear(&f);
		return 1;
	}
	fputs(text, stdout);
	frame_clear(&f);
	return 0;
}
