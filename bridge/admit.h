/*
 * Admission: a SUBMIT frame from a responder becomes a request for the
 * outgoing pipeline only when its fields are whole and known, its stanza
 * is what they say (claim.h) and its sender's credentials allow it
 * (auth.h).  Anything else is answered here, once.
 */
#ifndef XR_ADMIT_H
#define XR_ADMIT_H

#include "answer.h"
#include "conf.h"
#include "outgoing.h"
#include "proto.h"
#include "stanza.h"

struct auth;
struct client;

typedef void (*admit_answer_fn)(
    struct client *cl, uint32_t seq, const struct answer *a, void *ud);

/*
 * 0 with rq filled (pointing into f and st; free st with stanza_free
 * once rq is used), or -1 when f was answered through answer.  cf is
 * the running configuration, read during the call only.
 */
int admit(const struct conf *cf, struct auth *au, struct client *cl,
    const struct frame *f, struct out_request *rq, struct stanza *st,
    admit_answer_fn answer, void *ud);

#endif
