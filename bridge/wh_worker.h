/*
 * A webhook delivery worker: the child side of webhook.c's pool.  It
 * reads one job frame at a time from its socket (worker_proto.h), posts
 * it with the project's HTTP client over a connection it keeps, and
 * writes the result frame back, until the bridge closes the socket.
 */
#ifndef XR_WH_WORKER_H
#define XR_WH_WORKER_H

/* Serves jobs on fd until the bridge closes it, then _exit()s.  The
 * caller has closed every other descriptor and reset the signals. */
_Noreturn void wh_worker_run(int fd);

#endif
