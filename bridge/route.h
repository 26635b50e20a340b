/*
 * Wires the bridge's parts together: frames from responders become
 * stanzas on the XMPP session; stanzas from the session become outcomes
 * for the responders waiting on them.  The parts know nothing of each
 * other; only this file does.
 */
#ifndef XR_ROUTE_H
#define XR_ROUTE_H

#include "conf.h"
#include "privs.h"

struct loop;
struct route;

/* Binds the socket (giving it to p's user and socket group) and starts
 * the XMPP session; c and p must outlive the route.  NULL with err. */
struct route *route_new(struct loop *lp, const struct conf *c,
    const struct privs *p, char *err, size_t errlen);
/* Reads the credentials: after route_new, once privileges are dropped
 * (the file is the unprivileged user's). */
int route_start_auth(struct route *rt, char *err, size_t errlen);
/* After a reload changed the configuration's values, between turns of
 * the loop: hands the parts the values a reload may change. */
void route_reconfigure(struct route *rt);
/* Work the XMPP session has to do now: after each turn of the loop. */
void route_pump(struct route *rt);
/* SIGTERM: new requests get 503; those in the bridge go on. */
void route_drain(struct route *rt);
/* 1 while any request is still in the bridge. */
int route_busy(const struct route *rt);
/* Answers every waiting responder, closes the session and the socket,
 * and frees everything; NULL is a no-op. */
void route_free(struct route *rt);

#endif
