/*
 * The UNIX socket the responders connect to: accepts them, reassembles
 * frames from their bytes, queues outcome frames back.  It knows the
 * framing but nothing of what a frame asks for: that is route.c's job.
 */
#ifndef XR_LISTENER_H
#define XR_LISTENER_H

#include <stddef.h>

#include "proto.h"

struct client;

struct listener_cbs {
	/* A whole frame arrived; f is cleared by the listener afterwards. */
	void (*on_frame)(struct client *cl, const struct frame *f, void *ud);
	/* cl is about to be freed: forget every reference to it. */
	void (*on_close)(struct client *cl, void *ud);
	/* Optional: -1 (and why) refuses a new connection before it is
	 * served, e.g. a peer the SO_PEERCRED check does not allow. */
	int (*on_accept)(int fd, char *why, size_t whylen, void *ud);
};

struct loop;
struct listener;

struct listener_settings {
	const char *path;
	unsigned long max_clients;
	unsigned long idle_timeout_s; /* client_idle_timeout; 0: none */
	unsigned long max_pipelined;  /* 0: no limit */
};

/* Listens on set->path (taking over a stale socket file there); NULL with
 * err when it cannot. */
struct listener *listener_new(struct loop *loop,
    const struct listener_settings *set, const struct listener_cbs *cbs,
    void *ud, char *err, size_t errlen);
/* Closes every client (calling on_close) and removes the socket file. */
void listener_free(struct listener *l);

/* Queues an encoded frame for cl; drops cl if its queue overflows. */
void listener_send(struct client *cl, const struct frame_out *fo);

/* Sends a one-field outcome (and optional text) for seq on cl. */
void listener_send_outcome(struct client *cl, uint32_t seq, enum outcome o,
    const char *condition, const char *text);

unsigned long listener_nclients(const struct listener *l);

#endif
