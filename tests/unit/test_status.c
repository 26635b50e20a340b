/*
 * The status document (bridge/status.c): the figures the parts report,
 * under the names `xmpp-restd status` and docs/API.md give them.
 */
#include <jansson.h>
#include <stdlib.h>

#include "status.h"
#include "t.h"

static json_int_t
num(json_t *doc, const char *path)
{
	json_t *v = doc;
	char key[64];

	for (const char *p = path; v != NULL && *p;) {
		size_t n = strcspn(p, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		v = json_object_get(v, key);
		p += n + (p[n] == '.');
	}
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

int
main(void)
{
	unsigned long answered[OUTCOME_COUNT] = {0};
	struct status_report r = {0};
	json_error_t e;
	json_t *doc;
	char *text;
	size_t len = 0;

	answered[OUTCOME_SENT] = 7;
	answered[OUTCOME_STREAM_CLOSED] = 1;
	r.uptime_s = 42;
	r.jid = "rest.example";
	r.up = 0;
	r.down_reason = "connection refused \xff (not UTF-8)";
	r.out.in_bridge = 3;
	r.out.queued = 2;
	r.out.sessions_lost = 4;
	r.out.pings_sent = 9;
	r.queue_max = 1000;
	r.responders = 5;
	r.webhook = 1;
	r.in.in_flight = 6;
	r.in.spool_messages = 11;
	r.in.spool_bytes = 12345;
	r.in.spool_queues = 2;
	r.answered = answered;
	text = status_json(&r, &len);
	T_OK(text != NULL && len == strlen(text), "the report is written");
	doc = json_loads(text ? text : "", 0, &e);
	T_OK(doc != NULL, "as one JSON document");
	T_EQ_STR(json_string_value(json_object_get(doc, "version")), XR_VERSION,
	    "with the version");
	T_EQ_INT(num(doc, "uptime_s"), 42, "uptime_s");
	T_EQ_STR(json_string_value(
		     json_object_get(json_object_get(doc, "xmpp"), "state")),
	    "down", "xmpp.state");
	T_HAS(json_string_value(
		  json_object_get(json_object_get(doc, "xmpp"), "reason")),
	    "connection refused", "xmpp.reason, its bad byte repaired");
	T_EQ_INT(num(doc, "xmpp.sessions_lost"), 4, "xmpp.sessions_lost");
	T_EQ_INT(num(doc, "xmpp.acknowledgement_pings"), 9,
	    "xmpp.acknowledgement_pings");
	T_OK(json_is_null(json_object_get(
		 json_object_get(doc, "xmpp"), "stray_last_seen")),
	    "stray_last_seen null when none was seen");
	T_EQ_INT(num(doc, "requests.in_bridge"), 3, "requests.in_bridge");
	T_EQ_INT(num(doc, "requests.queued"), 2, "requests.queued");
	T_EQ_INT(num(doc, "requests.responders_connected"), 5,
	    "requests.responders_connected");
	T_OK(json_is_true(json_object_get(
		 json_object_get(doc, "webhook"), "configured")),
	    "webhook.configured");
	T_EQ_INT(num(doc, "webhook.spool_bytes"), 12345, "webhook.spool_bytes");
	T_EQ_INT(num(doc, "answers.sent"), 7, "answers by outcome: sent");
	T_EQ_INT(num(doc, "answers.stream-closed"), 1,
	    "answers by outcome: stream-closed");
	T_EQ_INT(json_object_size(json_object_get(doc, "answers")),
	    OUTCOME_COUNT, "every outcome has its counter");
	json_decref(doc);
	free(text);
	return t_done();
}
