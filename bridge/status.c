#include <jansson.h>

#include "json_out.h"
#include "status.h"

char *
status_json(const struct status_report *r, size_t *len)
{
	json_t *answers = json_object();

	for (int o = 0; answers && o < OUTCOME_COUNT; o++)
		json_object_set_new(answers, outcome_name((enum outcome)o),
		    json_integer((json_int_t)r->answered[o]));
	return xr_json_dump(
	    json_pack("{s:s, s:I, s:{s:s, s:s, s:o, s:I, s:I, s:I, s:o},"
		      " s:{s:I, s:I, s:I, s:I}, s:{s:b, s:I, s:I, s:I, s:I},"
		      " s:o*}",
		"version", XR_VERSION, "uptime_s", (json_int_t)r->uptime_s,
		"xmpp", "jid", r->jid, "state", r->up ? "up" : "down", "reason",
		xr_json_text(r->down_reason, 1024), "sessions_lost",
		(json_int_t)r->out.sessions_lost, "acknowledgement_pings",
		(json_int_t)r->out.pings_sent, "stray_answers",
		(json_int_t)r->stray_answers, "stray_last_seen",
		r->stray_last_seen != 0
		    ? json_integer((json_int_t)r->stray_last_seen)
		    : json_null(),
		"requests", "in_bridge", (json_int_t)r->out.in_bridge, "queued",
		(json_int_t)r->out.queued, "queue_max",
		(json_int_t)r->queue_max, "responders_connected",
		(json_int_t)r->responders, "webhook", "configured", r->webhook,
		"in_flight", (json_int_t)r->in.in_flight, "spool_messages",
		(json_int_t)r->in.spool_messages, "spool_bytes",
		(json_int_t)r->in.spool_bytes, "spool_queues",
		(json_int_t)r->in.spool_queues, "answers", answers),
	    len);
}
