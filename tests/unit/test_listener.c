/*
 * The responders' socket (bridge/listener.c) on a real UNIX socket in a
 * temporary directory, with a fake clock: frames split across writes and
 * several in one, the refusals (a delivery frame, an oversized one, one
 * SUBMIT past max_pipelined, a client past max_clients) and the idle
 * timeout, each in milliseconds; and an answer too large for a frame
 * (bridge/answer.c), which reaches the responder as a busy one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "answer.h"
#include "frame_reader.h"
#include "listener.h"
#include "loop.h"
#include "util.h"
#include "t.h"

static int64_t now_ms = 1000000;
static struct loop *lp;
static char dir[] = "/tmp/test_listener.XXXXXX", path[128];

/* What the listener reported. */
static int frames, closes;
static uint32_t last_seq;
static struct client *last_cl;

static int64_t
fake_now(void *ud)
{
	(void)ud;
	return now_ms;
}

static void
on_frame(struct client *cl, const struct frame *f, void *ud)
{
	(void)ud;
	frames++;
	last_seq = f->seq;
	last_cl = cl;
}

static void
on_close(struct client *cl, void *ud)
{
	(void)cl;
	(void)ud;
	closes++;
}

static struct listener *
open_listener(
    unsigned long max_clients, unsigned long idle_s, unsigned long pipelined)
{
	static const struct listener_cbs cbs = {on_frame, on_close, NULL};
	struct listener_settings set = {path, max_clients, idle_s, pipelined};
	char err[XR_ERRLEN];
	struct listener *l =
	    listener_new(lp, &set, &cbs, NULL, err, sizeof(err));

	if (l == NULL) {
		fprintf(stderr, "listener_new: %s\n", err);
		exit(1);
	}
	frames = closes = 0;
	return l;
}

/* A few turns of the loop, enough for an accept, a read and a write. */
static void
turns(void)
{
	for (int i = 0; i < 4; i++)
		loop_run_once(lp, 5);
}

static int
connect_client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	xr_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	turns();
	return fd;
}

static struct frame_out
submit(uint32_t seq)
{
	struct frame_out fo = {0};
	char err[XR_ERRLEN];

	frame_begin(&fo, FRAME_SUBMIT, seq);
	frame_put_str(&fo, FIELD_KIND, "message");
	frame_finish(&fo, err, sizeof(err));
	return fo;
}

/* The next frame the listener wrote to fd: its OUTCOME, TEXT and seq. */
static int
answer(int fd, char *outcome, char *text, uint32_t *seq)
{
	struct frame_reader fr;
	struct frame f;
	char err[XR_ERRLEN];
	enum fr_rc rc;

	fr_init(&fr, XR_FRAME_MAX, FRAME_TYPES_SOCKET);
	while ((rc = fr_next(&fr, &f, err, sizeof(err))) == FR_MORE) {
		if (fr_read(&fr, fd, NULL) <= 0)
			break;
	}
	fr_free(&fr);
	if (rc != FR_FRAME)
		return -1;
	snprintf(outcome, 32, "%s",
	    frame_get(&f, FIELD_OUTCOME) ? frame_get(&f, FIELD_OUTCOME) : "");
	snprintf(text, XR_ERRLEN, "%s",
	    frame_get(&f, FIELD_TEXT) ? frame_get(&f, FIELD_TEXT) : "");
	*seq = f.seq;
	frame_clear(&f);
	return 0;
}

/* Whether the listener closed fd (after what it had to say). */
static int
closed_by_listener(int fd)
{
	char c;

	turns();
	return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void
test_reassembly(void)
{
	struct listener *l = open_listener(8, 0, 0);
	struct frame_out a = submit(1), b = submit(2), c = submit(3);
	int fd = connect_client();

	xr_write_all(fd, a.b.data, 5);
	turns();
	T_EQ_INT(frames, 0, "half a header is no frame");
	xr_write_all(fd, a.b.data + 5, a.b.len - 5);
	turns();
	T_EQ_INT(frames, 1, "the rest makes the frame");
	T_EQ_INT(last_seq, 1, "with its seq");
	xr_write_all(fd, b.b.data, b.b.len);
	xr_write_all(fd, c.b.data, c.b.len);
	turns();
	T_EQ_INT(frames, 3, "two frames in one read are both handed on");
	T_EQ_INT(last_seq, 3, "in order");
	T_EQ_INT(listener_nclients(l), 1, "one client connected");
	close(fd);
	turns();
	T_EQ_INT(closes, 1, "a client that hangs up is closed");
	T_EQ_INT(listener_nclients(l), 0, "and forgotten");
	listener_free(l);
	frame_out_free(&a);
	frame_out_free(&b);
	frame_out_free(&c);
}

static void
test_refusals(void)
{
	struct listener *l = open_listener(8, 0, 0);
	struct frame_out d = {0};
	char outcome[32], text[XR_ERRLEN], err[XR_ERRLEN];
	uint32_t seq = 99;
	int fd = connect_client();

	frame_begin(&d, (enum frame_type)3, 5);
	frame_put_str(&d, FIELD_ID, "d1");
	frame_finish(&d, err, sizeof(err));
	xr_write_all(fd, d.b.data, d.b.len);
	turns();
	T_EQ_INT(answer(fd, outcome, text, &seq), 0, "a delivery frame...");
	T_EQ_STR(outcome, "rejected", "...is rejected");
	T_HAS(text, "delivery", "naming it");
	T_EQ_INT(frames, 0, "and not handed on");
	T_OK(closed_by_listener(fd), "the connection is closed");
	close(fd);

	fd = connect_client();
	xr_write_all(fd, "XR\x01\x01\0\0\0\x07\x7f\xff\xff\xff", 12);
	turns();
	T_EQ_INT(answer(fd, outcome, text, &seq), 0, "an oversized length...");
	T_EQ_STR(outcome, "rejected", "...is rejected from its header");
	T_HAS(text, "limit", "naming the limit");
	T_OK(closed_by_listener(fd), "and closed");
	close(fd);
	listener_free(l);
	frame_out_free(&d);
}

static void
test_pipelined(void)
{
	struct listener *l = open_listener(8, 0, 2);
	struct frame_out a = submit(1), b = submit(2), c = submit(3);
	char outcome[32], text[XR_ERRLEN];
	uint32_t seq = 0;
	int fd = connect_client();

	xr_write_all(fd, a.b.data, a.b.len);
	xr_write_all(fd, b.b.data, b.b.len);
	xr_write_all(fd, c.b.data, c.b.len);
	turns();
	T_EQ_INT(frames, 2, "max_pipelined submits are handed on");
	T_EQ_INT(answer(fd, outcome, text, &seq), 0, "the next one...");
	T_EQ_STR(outcome, "busy", "...is answered busy at once");
	T_EQ_INT(seq, 3, "under its own seq");
	T_HAS(text, "max_pipelined", "naming the limit");
	listener_send_outcome(last_cl, 2, OUTCOME_SENT, NULL, NULL);
	turns();
	T_EQ_INT(answer(fd, outcome, text, &seq), 0, "an answer...");
	T_EQ_STR(outcome, "sent", "...is written");
	T_EQ_INT(seq, 2, "for its seq");
	close(fd);
	listener_free(l);
	frame_out_free(&a);
	frame_out_free(&b);
	frame_out_free(&c);
}

static void
test_limits(void)
{
	struct listener *l = open_listener(1, 5, 0);
	struct frame_out a = submit(1);
	char outcome[32], text[XR_ERRLEN];
	uint32_t seq = 9;
	int fd = connect_client(), extra = connect_client();

	T_EQ_INT(answer(extra, outcome, text, &seq), 0, "a client too many...");
	T_EQ_STR(outcome, "busy", "...is told the bridge is busy");
	T_EQ_INT(seq, 0, "for its whole connection");
	T_HAS(text, "max_clients", "naming the limit");
	close(extra);

	now_ms += 4000;
	loop_run_timers(lp);
	T_EQ_INT(closes, 0, "a client idle for less than the timeout stays");
	xr_write_all(fd, a.b.data, 3);
	turns();
	now_ms += 6000;
	loop_run_timers(lp);
	T_EQ_INT(closes, 1, "one idle past it, half a frame sent, is closed");
	T_OK(closed_by_listener(fd), "its connection with it");
	close(fd);

	fd = connect_client();
	T_EQ_INT(listener_nclients(l), 1, "a new client is served");
	listener_free(l);
	T_EQ_INT(closes, 2, "freeing the listener closes its clients");
	T_OK(access(path, F_OK) < 0 && errno == ENOENT,
	    "and removes the socket file");
	close(fd);
	frame_out_free(&a);
}

/* An answer past the frame limit becomes a busy answer that says why,
 * and is counted as what was sent. */
static void
test_answer_too_large(void)
{
	struct listener *l = open_listener(8, 0, 0);
	struct frame_out a = submit(4);
	struct answer_tally t = {{0}};
	char outcome[32], text[XR_ERRLEN];
	uint32_t seq = 0;
	int fd = connect_client();
	size_t n = XR_FRAME_MAX + 1;
	char *big = malloc(n);

	if (big == NULL)
		abort();
	memset(big, 'x', n);
	xr_write_all(fd, a.b.data, a.b.len);
	turns();
	answer_send(last_cl, 4,
	    &(struct answer){
		.outcome = OUTCOME_REPLY, .stanza = big, .stanza_len = n},
	    &t);
	turns();
	T_EQ_INT(answer(fd, outcome, text, &seq), 0, "a reply too large...");
	T_EQ_STR(outcome, "busy", "...reaches the responder as busy");
	T_EQ_INT(seq, 4, "under the request's seq");
	T_HAS(text, "protocol limit", "saying why");
	T_OK(t.n[OUTCOME_BUSY] == 1 && t.n[OUTCOME_REPLY] == 0,
	    "and is counted as busy, not as a reply");
	close(fd);
	listener_free(l);
	frame_out_free(&a);
	free(big);
}

int
main(void)
{
	struct loop_clock clock = {fake_now, NULL, NULL};

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/sock", dir);
	if ((lp = loop_new(&clock)) == NULL)
		return 1;
	test_reassembly();
	test_refusals();
	test_pipelined();
	test_limits();
	test_answer_too_large();
	loop_free(lp);
	rmdir(dir);
	return t_done();
}
