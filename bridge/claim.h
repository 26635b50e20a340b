/*
 * The bridge is the trust boundary: a submit frame's KIND and FROM are
 * what it authorizes, so the STANZA it writes must be exactly that
 * stanza.  Any local process that may reach the socket can forge a
 * frame, and libstrophe writes what it is given, so the stanza is parsed
 * again with the responder's checker (common/stanza.c) and compared with
 * the frame's fields before anything is written.
 */
#ifndef XR_CLAIM_H
#define XR_CLAIM_H

#include "conf.h"
#include "proto.h"
#include "stanza.h"

/*
 * Checks f (a SUBMIT with KIND, ID, TO, FROM and STANZA).  On 0, st holds
 * the checked stanza: st->from is FROM with the domain spelled as conf
 * "jid", st->xml what to write (free it with stanza_free).  On -1, e says
 * why (400, 403, 413 or 422; 500 out of memory) and st is empty.
 */
int claim_check(const struct conf *c, const struct frame *f, struct stanza *st,
    struct stanza_error *e);

#endif
