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

/* Binds the socket (giving it to p's user and socket group) and starts
 * the XMPP session; p must outlive the bridge. */
struct loop;

int route_start(struct loop *loop, const struct conf *c, const struct privs *p,
    char *err, size_t errlen);
/* Reads the credentials: after route_start, once privileges are
 * dropped (the file is the unprivileged user's). */
int route_start_auth(char *err, size_t errlen);
/* After a reload changed the configuration's values in place. */
void route_reconfigure(void);
/* Work the XMPP session has to do now: after each turn of the loop. */
void route_pump(void);
/* SIGTERM: new requests get 503; those in the bridge go on. */
void route_drain(void);
/* 1 while any request is still in the bridge. */
int route_busy(void);
/* Answers every waiting responder and closes the session and socket. */
void route_stop(void);

#endif
