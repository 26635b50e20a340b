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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bridge_client.h"
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
	if (bc->fd >= 0 && send_all(bc->fd, submit->buf, submit->len) == 0)
		return 0;
	if (bc->fd >= 0) {
		if (errno != EPIPE && errno != ECONNRESET)
			return -1;
		close(bc->fd);
	}
	if ((bc->fd = connect_bridge(path, err, errlen)) < 0)
		return -2;
	return send_all(bc->fd, submit->buf, submit->len);
}

void
bridge_conn_close(struct bridge_conn *bc)
{
	if (bc->fd >= 0)
		close(bc->fd);
	bc->fd = -1;
}

/*
 * One attempt of bridge_call.  *unread is set when a kept connection was
 * reset before any byte of an answer: the bridge closed it (idle, say)
 * with our frame still unread in its socket, so the frame never reached
 * it and may be sent again.
 */
static enum bridge_rc
call_once(int keep, struct bridge_conn *bc, const char *path,
    const struct frame_out *submit, uint32_t seq, int timeout_ms,
    struct frame *out, char *err, size_t errlen, int *unread)
{
	int reused = bc->fd >= 0;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int64_t deadline = xr_now_ms() + timeout_ms;
	enum bridge_rc rc = BRIDGE_BROKEN;
	int fd, sent, write_failed = 0;

	memset(out, 0, sizeof(*out));
	if ((sent = send_frame(bc, path, submit, err, errlen)) == -2)
		return BRIDGE_UNREACHABLE;
	fd = bc->fd;
	if (sent < 0) {
		int e = errno;

		/* A bridge that refuses the connection (max_clients, a peer
		 * allow_uids does not name) says why in a frame and closes:
		 * that frame may be waiting even though our write failed. */
		if (e != EPIPE && e != ECONNRESET) {
			snprintf(err, errlen, "writing to %s: %s", path,
			    strerror(e));
			bridge_conn_close(bc);
			return BRIDGE_UNREACHABLE;
		}
		snprintf(err, errlen, "writing to %s: %s", path, strerror(e));
		write_failed = 1;
		deadline = xr_now_ms() + REFUSAL_WAIT_MS;
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - xr_now_ms();
		ssize_t n, used;

		if (left <= 0 && write_failed) {
			rc = BRIDGE_UNREACHABLE;
			break;
		}
		if (left <= 0) {
			snprintf(err, errlen,
			    "the bridge did not answer within %d s",
			    (timeout_ms + 999) / 1000);
			rc = BRIDGE_TIMEOUT;
			break;
		}
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *nb;

			if (ncap > XR_FRAME_HDR + XR_FRAME_MAX)
				ncap = XR_FRAME_HDR + XR_FRAME_MAX;
			if (ncap == cap || (nb = realloc(buf, ncap)) == NULL) {
				snprintf(err, errlen, "answer too large");
				break;
			}
			buf = nb;
			cap = ncap;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*unread = n < 0 && errno == ECONNRESET && reused &&
			    len == 0 && !write_failed;
			if (!write_failed)
				snprintf(err, errlen,
				    "the bridge closed the connection without "
				    "an answer");
			rc = BRIDGE_UNREACHABLE;
			break;
		}
		len += (size_t)n;
		used = frame_decode(buf, len, out, err, errlen);
		if (used == 0)
			continue;
		if (used < 0)
			break;
		/* seq 0 is the bridge speaking for the whole connection. */
		if (out->type != FRAME_OUTCOME ||
		    (out->seq != seq && out->seq != 0)) {
			snprintf(
			    err, errlen, "unexpected frame from the bridge");
			frame_clear(out);
			break;
		}
		rc = BRIDGE_OK;
		break;
	}
	free(buf);
	if (rc != BRIDGE_OK || !keep || out->seq == 0)
		bridge_conn_close(bc);
	return rc;
}

enum bridge_rc
bridge_call(struct bridge_conn *keep, const char *path,
    const struct frame_out *submit, uint32_t seq, int timeout_ms,
    struct frame *out, char *err, size_t errlen)
{
	struct bridge_conn once = {-1};
	struct bridge_conn *bc = keep ? keep : &once;
	int unread = 0;
	enum bridge_rc rc = call_once(keep != NULL, bc, path, submit, seq,
	    timeout_ms, out, err, errlen, &unread);

	/* bc was closed: this attempt has a new connection. */
	if (unread)
		rc = call_once(keep != NULL, bc, path, submit, seq, timeout_ms,
		    out, err, errlen, &unread);
	return rc;
}

enum bridge_rc
bridge_status(const char *path, int timeout_ms, struct frame *out, char *err,
    size_t errlen)
{
	struct frame_out fo = {0};
	enum bridge_rc rc;

	frame_begin(&fo, FRAME_STATUS, 1);
	if (frame_finish(&fo, err, errlen) < 0) {
		frame_out_free(&fo);
		memset(out, 0, sizeof(*out));
		return BRIDGE_BROKEN;
	}
	rc = bridge_call(NULL, path, &fo, 1, timeout_ms, out, err, errlen);
	frame_out_free(&fo);
	if (rc == BRIDGE_OK && frame_get(out, FIELD_TEXT) == NULL) {
		snprintf(err, errlen, "the bridge sent no status");
		frame_clear(out);
		return BRIDGE_BROKEN;
	}
	return rc;
}
