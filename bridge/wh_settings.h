/*
 * What the delivery pool reads of the configuration, copied, so that the
 * pool never keeps a pointer into it: wh_reconfigure hands it new values
 * after a reload.
 */
#ifndef XR_WH_SETTINGS_H
#define XR_WH_SETTINGS_H

#include "conf.h"

struct wh_settings {
	unsigned long timeout_s;          /* callback_timeout */
	unsigned long max_inflight;       /* callback_max_inflight */
	unsigned long queue_max;          /* callback_queue_max */
	unsigned long max_response_bytes; /* callback_max_response_bytes */
	char *secret;  /* callback_secret; NULL: deliveries are not signed */
	char *ca_file; /* callback_ca_file; NULL: the system CA store */
};

/* Fills s from c, replacing what s held: 0, or -1 when out of memory
 * with s unchanged. */
int wh_settings_copy(struct wh_settings *s, const struct conf *c);

/* Frees what s holds (wiping the secret) and empties it. */
void wh_settings_clear(struct wh_settings *s);

#endif
