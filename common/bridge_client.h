/*
 * The client side of the socket protocol: connect to the bridge, send
 * one frame (a SUBMIT from the responder, a STATUS from it or from
 * `xmpp-restd status`), wait (bounded) for its OUTCOME.
 */
#ifndef XR_BRIDGE_CLIENT_H
#define XR_BRIDGE_CLIENT_H

#include <stddef.h>

#include "proto.h"

enum bridge_rc {
	BRIDGE_OK = 0,
	BRIDGE_UNREACHABLE = -1, /* no bridge listening: 503 */
	BRIDGE_TIMEOUT = -2,     /* the bridge did not answer in time: 504 */
	BRIDGE_BROKEN = -3       /* the bridge answered nonsense: 502 */
};

/* A connection kept from one call to the next; fd -1 when there is none. */
struct bridge_conn {
	int fd;
};

/*
 * Sends submit (a finished frame with the given seq) to the bridge at path
 * and fills out with the outcome.  err describes any failure.  bc's
 * connection is used (made if need be) and kept for the next call after a
 * clean answer.
 */
enum bridge_rc bridge_call(struct bridge_conn *bc, const char *path,
    const struct frame_out *submit, uint32_t seq, int timeout_ms,
    struct frame *out, char *err, size_t errlen);

void bridge_conn_close(struct bridge_conn *bc);

/*
 * Asks the bridge for its status (a STATUS frame on a connection of its
 * own).  BRIDGE_OK with the JSON in out's TEXT field (frame_clear it), or
 * what bridge_call returns; a status without TEXT is BRIDGE_BROKEN.
 */
enum bridge_rc bridge_status(const char *path, int timeout_ms,
    struct frame *out, char *err, size_t errlen);

#endif
