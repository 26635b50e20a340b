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
	struct frame f;
	char err[XR_ERRLEN];

	if (bridge_status(c->socket, STATUS_TIMEOUT_MS, &f, err, sizeof(err)) !=
	    BRIDGE_OK) {
		fprintf(
		    stderr, "xmpp-restd: no status from the bridge: %s\n", err);
		return 1;
	}
	fputs(frame_get(&f, FIELD_TEXT), stdout);
	frame_clear(&f);
	return 0;
}
