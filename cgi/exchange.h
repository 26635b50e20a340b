/*
 * The responder's second step: a checked request handed to the bridge
 * over its socket (common/bridge_client.h), and what came back, kept in
 * a struct exchange for respond.h.
 */
#ifndef XR_EXCHANGE_H
#define XR_EXCHANGE_H

#include "bridge_client.h"
#include "conf.h"
#include "request.h"

enum exchange_state {
	EXCHANGE_NONE,   /* the request was not one for the bridge */
	EXCHANGE_UNSENT, /* its frame could not be made: err says why */
	EXCHANGE_DONE    /* rc says how the call went */
};

struct exchange {
	enum exchange_state state;
	enum bridge_rc rc; /* EXCHANGE_DONE */
	struct frame f;    /* rc BRIDGE_OK: the bridge's answer, owned */
	char err[XR_ERRLEN];
};

/*
 * Asks the bridge what rq needs (REQUEST_SUBMIT: its SUBMIT frame;
 * REQUEST_STATUS: its status), and nothing for the other kinds.  Free ex
 * with exchange_free whatever its state.
 */
void exchange_run(
    const struct conf *c, const struct request *rq, struct exchange *ex);

void exchange_free(struct exchange *ex);

#endif
