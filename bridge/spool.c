/*
 * The spool's files: spool_dir opened (made if need be), a message's file
 * written, its body read back, the file removed or set aside.  The format
 * of a file is described in spool_format.c, the queues in memory are in
 * spool_queue.c, and reading the spool back at start is spool_load.c.
 *
 * A file is written under tmp-SEQ-ID, fsync'd, renamed, and the directory
 * fsync'd, so a crash leaves either no file or a whole one (a leftover
 * temporary file is adopted if whole, else removed).  Removal is not
 * fsync'd: after a crash a delivered message may come back once, with
 * the same delivery id, for the receiver to recognise.
 *
 * Memory: a struct spool_msg (about 100 bytes) per message, a queue per
 * (URL, sender) with something spooled, and a heap of the due queues.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool_priv.h"

/* ---- opening ---- */

/*
 * mkdir -p, mode 0700, giving what it makes to owner/group.  It walks
 * the path by descriptor: a directory it made is opened with O_NOFOLLOW
 * and given away with fchown(), so a symlink put in its place between
 * mkdirat() and fchown() by whoever can write the parent fails the
 * start instead of giving root's chown a file of the attacker's choice.
 * Components that already exist are followed as the admin set them up.
 */
static int
make_dirs(const char *path, uid_t owner, gid_t group, char *err, size_t errlen)
{
	char buf[4096];
	size_t n = xr_strlcpy(buf, path, sizeof(buf));
	int dfd, rc = -1;
	char *name = buf;

	if (n >= sizeof(buf) || n == 0) {
		snprintf(err, errlen, "spool_dir: path %s",
		    n ? "too long" : "empty");
		return -1;
	}
	dfd =
	    open(buf[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "spool_dir: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		char *end;
		int made, fd;

		while (*name == '/')
			name++;
		if (*name == '\0') {
			rc = 0;
			break;
		}
		if ((end = strchr(name, '/')) != NULL)
			*end = '\0';
		made = mkdirat(dfd, name, 0700) == 0;
		if (!made && errno != EEXIST) {
			snprintf(err, errlen, "spool_dir: creating %s: %s", buf,
			    strerror(errno));
			break;
		}
		fd = openat(dfd, name,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC |
			(made ? O_NOFOLLOW : 0));
		if (fd < 0) {
			snprintf(err, errlen, "spool_dir: opening %s: %s", buf,
			    strerror(errno));
			break;
		}
		close(dfd);
		dfd = fd;
		if (made && owner != (uid_t)-1 &&
		    fchown(fd, owner, group) < 0) {
			snprintf(err, errlen, "spool_dir: chown %s: %s", buf,
			    strerror(errno));
			break;
		}
		if (end == NULL) {
			rc = 0;
			break;
		}
		*end = '/';
		name = end + 1;
	}
	close(dfd);
	return rc;
}

struct spool *
spool_open(const char *dir, unsigned long max_bytes, uid_t owner, gid_t group,
    char *err, size_t errlen)
{
	struct spool *sp;
	struct stat st;

	/* A file size limit must fail a write (the message is bounced),
	 * not kill the daemon. */
	signal(SIGXFSZ, SIG_IGN);
	if (make_dirs(dir, owner, group, err, errlen) < 0)
		return NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL ||
	    (sp->path = strdup(dir)) == NULL) {
		free(sp);
		snprintf(err, errlen, "spool_dir: out of memory");
		return NULL;
	}
	for (size_t i = 0; i < SPOOL_BUCKETS; i++)
		LIST_INIT(&sp->bucket[i]);
	sp->max = max_bytes;
	sp->next_seq = 1;
	sp->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dfd < 0 || fstat(sp->dfd, &st) < 0) {
		snprintf(err, errlen, "spool_dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (owner != (uid_t)-1 && st.st_uid != owner) {
		snprintf(err, errlen,
		    "spool_dir %s belongs to uid %lu, not to the bridge's user "
		    "(uid %lu)",
		    dir, (unsigned long)st.st_uid, (unsigned long)owner);
		goto fail;
	}
	if (owner == (uid_t)-1 && access(dir, W_OK | X_OK) < 0) {
		snprintf(err, errlen, "spool_dir %s is not writable: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if (st.st_mode & 077)
		log_warnx("spool_dir %s is mode %04o: others may read the "
			  "spooled messages (0700 is enough)",
		    dir, (unsigned)(st.st_mode & 07777));
	return sp;
fail:
	spool_close(sp);
	return NULL;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	for (size_t i = 0; i < SPOOL_BUCKETS; i++) {
		while (!LIST_EMPTY(&sp->bucket[i]))
			spool_queue_free(sp, LIST_FIRST(&sp->bucket[i]));
	}
	if (sp->dfd >= 0)
		close(sp->dfd);
	free(sp->heap);
	free(sp->path);
	free(sp);
}

/* ---- writing ---- */

static int
write_file(struct spool *sp, const char *tmp, const char *name,
    const char *head, size_t hlen, const char *body, size_t len, char *err,
    size_t errlen)
{
	int fd, e;

	fd = openat(sp->dfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "creating %s/%s: %s", sp->path, tmp,
		    strerror(errno));
		return -1;
	}
	if (xr_write_all(fd, head, hlen) < 0 ||
	    xr_write_all(fd, body, len) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || renameat(sp->dfd, tmp, sp->dfd, name) < 0) {
		e = errno;
		goto fail;
	}
	if (fsync(sp->dfd) < 0) {
		e = errno;
		unlinkat(sp->dfd, name, 0);
		snprintf(err, errlen, "fsync %s: %s", sp->path, strerror(e));
		return -1;
	}
	return 0;
fail:
	unlinkat(sp->dfd, tmp, 0);
	snprintf(err, errlen, "writing %s/%s: %s", sp->path, tmp, strerror(e));
	return -1;
}

int
spool_put(struct spool *sp, const char *url, const struct spool_meta *m,
    const char *body, size_t len, struct spool_msg **out, char *err,
    size_t errlen)
{
	char head[SPOOL_HEAD_MAX], tmp[SPOOL_NAME_LEN], name[SPOOL_NAME_LEN];
	struct spool_queue *q;
	struct spool_msg *msg;
	unsigned long long size;
	int hl, made = 0;

	if (!spool_clean(m->kind) || !spool_clean(m->type) ||
	    !spool_clean(m->to) || !spool_clean(m->from) ||
	    !spool_clean(m->id) || len > SPOOL_BODY_MAX) {
		snprintf(err, errlen,
		    "cannot be spooled: a control character "
		    "in an address, or too long");
		return -1;
	}
	if ((hl = spool_format_head(head, sizeof(head), m, len)) < 0) {
		snprintf(err, errlen, "cannot be spooled: header too long");
		return -1;
	}
	size = (unsigned long long)hl + len;
	if (sp->max > 0 && (size > sp->max || sp->used > sp->max - size))
		return SPOOL_FULL;
	if ((msg = calloc(1, sizeof(*msg))) == NULL)
		goto oom;
	if ((q = spool_queue_find(sp, url, m->from)) == NULL) {
		if ((q = spool_queue_new(sp, url, m->from)) == NULL) {
			free(msg);
			goto oom;
		}
		made = 1;
	}
	spool_file_name(tmp, sizeof(tmp), m->seq, m->id, 1);
	spool_file_name(name, sizeof(name), m->seq, m->id, 0);
	if (write_file(
		sp, tmp, name, head, (size_t)hl, body, len, err, errlen) < 0) {
		free(msg);
		if (made)
			spool_queue_free(sp, q);
		return -1;
	}
	xr_strlcpy(msg->id, m->id, sizeof(msg->id));
	msg->seq = m->seq;
	msg->first = m->first;
	msg->bytes = (size_t)size;
	msg->body_off = (size_t)hl;
	msg->body_len = len;
	spool_queue_insert(q, msg);
	sp->used += size;
	sp->count++;
	if (m->seq >= sp->next_seq)
		sp->next_seq = m->seq + 1;
	*out = msg;
	return 0;
oom:
	snprintf(err, errlen, "cannot be spooled: out of memory");
	return -1;
}

uint64_t
spool_next_seq(struct spool *sp)
{
	return sp->next_seq++;
}

/* ---- reading ---- */

char *
spool_read(struct spool *sp, const struct spool_msg *m, size_t *len, char *err,
    size_t errlen)
{
	char name[SPOOL_NAME_LEN], *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd;

	spool_file_name(name, sizeof(name), m->seq, m->id, 0);
	if ((fd = openat(sp->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) <
	    0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 ||
	    (unsigned long long)st.st_size != m->body_off + m->body_len) {
		snprintf(
		    err, errlen, "%s changed size since it was spooled", name);
		goto fail;
	}
	if ((buf = malloc(m->body_len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory for %s", name);
		goto fail;
	}
	while (got < m->body_len) {
		ssize_t n = pread(fd, buf + got, m->body_len - got,
		    (off_t)(m->body_off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "reading %s: %s", name,
			    n < 0 ? strerror(errno) : "short file");
			goto fail;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

struct spool_queue *
spool_remove(struct spool *sp, struct spool_msg *m)
{
	char name[SPOOL_NAME_LEN];

	spool_file_name(name, sizeof(name), m->seq, m->id, 0);
	if (unlinkat(sp->dfd, name, 0) < 0 && errno != ENOENT)
		log_warn("spool: removing %s/%s", sp->path, name);
	return spool_forget(sp, m);
}

/* Renames a file NAME.bad, so that it is kept for a look but not loaded. */
void
spool_rename_aside(struct spool *sp, const char *name, const char *why)
{
	char bad[NAME_MAX + 8];

	snprintf(bad, sizeof(bad), "%s.bad", name);
	if (renameat(sp->dfd, name, sp->dfd, bad) < 0)
		log_warn("spool: %s/%s: %s; renaming it %s failed", sp->path,
		    name, why, bad);
	else
		log_warnx("spool: %s/%s: %s; moved aside as %s", sp->path, name,
		    why, bad);
}

struct spool_queue *
spool_set_aside(struct spool *sp, struct spool_msg *m, const char *why)
{
	char name[SPOOL_NAME_LEN];

	spool_file_name(name, sizeof(name), m->seq, m->id, 0);
	spool_rename_aside(sp, name, why);
	return spool_forget(sp, m);
}
