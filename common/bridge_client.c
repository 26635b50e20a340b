/*
 * One round trip to the bridge over its UNIX socket.  Everything is
 * bounded: the connect is local and immediate, the answer is awaited with
 * poll() up to the deadline, and the answer's size by XR_FRAME_MAX.
 *
 * A caller may keep its connection for the next call (struct
 * bridge_conn): that saves a connect and an accept per request.  A kept
 * connection is closed after anything but a clean answer, so no late
 * answer to an abandoned request can be read as the next one's.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bridge_client.h"
#include "frame_reader.h"
#include "util.h"

static int
connect_bridge(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (xr_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "connect %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* How long to look for the bridge's reason after it cut our write. */
#define REFUSAL_WAIT_MS 1000

/*
 * Writes the frame on bc's connection, or a new one.  A kept connection
 * the bridge closed meanwhile (it restarted) fails the write with EPIPE
 * before the bridge saw a byte, so writing again on a new connection
 * cannot send a stanza twice.
 */
static int
send_frame(struct bridge_conn *bc, const char *path,
    const struct frame_out *submit, char *err, size_t errlen)
{
	if (bc->fd >= 0 && send_all(bc->fd, submit->b.data, submit->b.len) == 0)
		return 0;
	if (bc->fd >= 0) {
		if (errno != EPIPE && errno != ECONNRESET)
			return -1;
		close(bc->fd);
	}
	if ((bc->fd = connect_bridge(path, err, errlen)) < 0)
		return -2;
	return send_all(bc->fd, submit->b.data, submit->b.len);
}

void
bridge_conn_close(struct bridge_conn *bc)
{
	if (bc->fd >= 0)
		close(bc->fd);
	bc->fd = -1;
}

/* One attempt at a call, as the wait for its answer sees it. */
struct call {
	int fd;
	int reused;       /* the connection was kept from an earlier call */
	int write_failed; /* the bridge cut our write: await only its reason */
	int timeout_ms;
	int64_t deadline;
};

/* Waits for more of the answer and reads it: BRIDGE_OK, or why not. */
static enum bridge_rc
read_more(const struct call *c, struct frame_reader *fr, char *err,
    size_t errlen, int *unread)
{
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int64_t left = c->deadline - xr_now_ms();
		ssize_t n;

		if (left <= 0 && c->write_failed)
			return BRIDGE_UNREACHABLE;
		if (left <= 0) {
			snprintf(err, errlen,
			    "the bridge did not answer within %d s",
			    (c->timeout_ms + 999) / 1000);
			return BRIDGE_TIMEOUT;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if ((n = fr_read(fr, c->fd, NULL)) > 0)
			return BRIDGE_OK;
		if (n < 0 && errno == EMSGSIZE) {
			snprintf(err, errlen, "answer too large");
			return BRIDGE_BROKEN;
		}
		*unread = n < 0 && errno == ECONNRESET && c->reused &&
		    fr_pending(fr) == 0 && !c->write_failed;
		if (!c->write_failed)
			snprintf(err, errlen,
			    "the bridge closed the connection without an "
			    "answer");
		return BRIDGE_UNREACHABLE;
	}
}

/* Reads until the answer to seq is whole: BRIDGE_OK with out, or why not. */
static enum bridge_rc
await_answer(const struct call *c, uint32_t seq, struct frame *out, char *err,
    size_t errlen, int *unread)
{
	struct frame_reader fr;
	enum bridge_rc rc = BRIDGE_BROKEN;
	enum fr_rc got = FR_MORE;

	fr_init(&fr, XR_FRAME_MAX, FRAME_TYPES_SOCKET);
	while (got == FR_MORE &&
	    (rc = read_more(c, &fr, err, errlen, unread)) == BRIDGE_OK)
		got = fr_next(&fr, out, err, errlen);
	fr_free(&fr);
	if (got == FR_MORE)
		return rc;
	if (got != FR_FRAME)
		return BRIDGE_BROKEN;
	/* seq 0 is the bridge speaking for the whole connection. */
	if (out->type != FRAME_OUTCOME || (out->seq != seq && out->seq != 0)) {
		snprintf(err, errlen, "unexpected frame from the bridge");
		frame_clear(out);
		return BRIDGE_BROKEN;
	}
	return BRIDGE_OK;
}

/*
 * One attempt of a call; bc is closed unless it succeeds.  *unread is set
 * when a kept connection was reset before any byte of an answer: the
 * bridge closed it (idle, say) with our frame still unread in its socket,
 * so the frame never reached it and may be sent again.
 */
static enum bridge_rc
call_once(struct bridge_conn *bc, const char *path,
    const struct frame_out *submit, uint32_t seq, int timeout_ms,
    struct frame *out, char *err, size_t errlen, int *unread)
{
	struct call c = {.reused = bc->fd >= 0, .timeout_ms = timeout_ms};
	enum bridge_rc rc;
	int sent;

	memset(out, 0, sizeof(*out));
	*unread = 0;
	c.deadline = xr_now_ms() + timeout_ms;
	if ((sent = send_frame(bc, path, submit, err, errlen)) == -2)
		return BRIDGE_UNREACHABLE;
	if (sent < 0) {
		int e = errno;

		snprintf(err, errlen, "writing to %s: %s", path, strerror(e));
		/* A bridge that refuses the connection (max_clients, a peer
		 * allow_uids does not name) says why in a frame and closes:
		 * that frame may be waiting even though our write failed. */
		if (e != EPIPE && e != ECONNRESET) {
			bridge_conn_close(bc);
			return BRIDGE_UNREACHABLE;
		}
		c.write_failed = 1;
		c.deadline = xr_now_ms() + REFUSAL_WAIT_MS;
	}
	c.fd = bc->fd;
	rc = await_answer(&c, seq, out, err, errlen, unread);
	if (rc != BRIDGE_OK)
		bridge_conn_close(bc);
	return rc;
}

enum bridge_rc
bridge_call(struct bridge_conn *bc, const char *path,
    const struct frame_out *submit, uint32_t seq, int timeout_ms,
    struct frame *out, char *err, size_t errlen)
{
	int unread;
	enum bridge_rc rc = call_once(
	    bc, path, submit, seq, timeout_ms, out, err, errlen, &unread);

	/* bc was closed: this attempt has a new connection. */
	if (unread)
		rc = call_once(bc, path, submit, seq, timeout_ms, out, err,
		    errlen, &unread);
	if (rc == BRIDGE_OK && out->seq == 0)
		bridge_conn_close(bc);
	return rc;
}

enum bridge_rc
bridge_status(const char *path, int timeout_ms, struct frame *out, char *err,
    size_t errlen)
{
	struct frame_out fo = {0};
	struct bridge_conn own = {-1};
	enum bridge_rc rc;
	int unread;

	frame_begin(&fo, FRAME_STATUS, 1);
	if (frame_finish(&fo, err, errlen) < 0) {
		frame_out_free(&fo);
		memset(out, 0, sizeof(*out));
		return BRIDGE_BROKEN;
	}
	rc = call_once(
	    &own, path, &fo, 1, timeout_ms, out, err, errlen, &unread);
	bridge_conn_close(&own);
	frame_out_free(&fo);
	if (rc == BRIDGE_OK && frame_get(out, FIELD_TEXT) == NULL) {
		snprintf(err, errlen, "the bridge sent no status");
		frame_clear(out);
		return BRIDGE_BROKEN;
	}
	return rc;
}
