/*
 * The spool's files and queues.
 *
 * One file per message, named SEQ-ID.msg (SEQ zero-padded to 20 digits,
 * ID the delivery id), mode 0600 in a 0700 directory:
 *
 *	xmpp-rest-spool 1
 *	id x3k9tqvh2m8c6nfw4brdpz7a
 *	seq 42
 *	time 1767225600123
 *	kind message
 *	type chat
 *	to bot@rest.example.org
 *	from alice@example.org/phone
 *	length 153
 *
 *	<message ...>...</message>
 *
 * The header lines come in exactly this order, each "key value" with no
 * control character; time is the arrival (first attempt) in unix ms; the
 * blank line ends the header; the body is exactly `length` bytes, the
 * stanza as first POSTed, and nothing follows it.  A file of any other
 * size is truncated or corrupt.  The URL is not recorded: it is filled in
 * again from callback_url at start, so fixing a wrong callback_url also
 * fixes where the spooled messages go.  Attempts are not recorded either
 * (that would cost an fsync per attempt): back-off restarts after a
 * restart, the age limit does not.
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"

#define SPOOL_BUCKETS 1024
#define NAME_LEN 64 /* "tmp-" + 20 digits + "-" + id + ".msg", and more */
#define BODY_MAX (1UL << 30)

struct spool {
	char *path;
	int dfd;
	unsigned long long max, used;
	size_t count, nq;
	uint64_t next_seq;
	struct spool_queue *bucket[SPOOL_BUCKETS];
	struct spool_queue **heap;
	size_t nheap, capheap;
};

/* ---- names ---- */

static void
file_name(char *buf, size_t size, uint64_t seq, const char *id, int tmp)
{
	snprintf(buf, size, "%s%020" PRIu64 "-%s%s", tmp ? "tmp-" : "", seq, id,
	    tmp ? "" : ".msg");
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- queues and the due heap ---- */

static unsigned
hash_key(const char *url, const char *from)
{
	uint32_t h = 2166136261U;

	for (const char *p = url; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619U;
	h = (h ^ 0xffU) * 16777619U;
	for (const char *p = from; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619U;
	return h % SPOOL_BUCKETS;
}

struct spool_queue *
spool_queue_find(struct spool *sp, const char *url, const char *from)
{
	struct spool_queue *q = sp->bucket[hash_key(url, from)];

	while (q && (strcmp(q->url, url) != 0 || strcmp(q->from, from) != 0))
		q = q->hnext;
	return q;
}

static void
heap_swap(struct spool *sp, size_t a, size_t b)
{
	struct spool_queue *t = sp->heap[a];

	sp->heap[a] = sp->heap[b];
	sp->heap[b] = t;
	sp->heap[a]->slot = a;
	sp->heap[b]->slot = b;
}

static void
heap_up(struct spool *sp, size_t i)
{
	while (i > 0 && sp->heap[(i - 1) / 2]->due > sp->heap[i]->due) {
		heap_swap(sp, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct spool *sp, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < sp->nheap && sp->heap[l]->due < sp->heap[m]->due)
			m = l;
		if (r < sp->nheap && sp->heap[r]->due < sp->heap[m]->due)
			m = r;
		if (m == i)
			return;
		heap_swap(sp, i, m);
		i = m;
	}
}

static void
heap_remove(struct spool *sp, struct spool_queue *q)
{
	size_t i = q->slot;

	q->due = 0;
	if (i >= sp->nheap || sp->heap[i] != q)
		return;
	sp->nheap--;
	if (i == sp->nheap)
		return;
	sp->heap[i] = sp->heap[sp->nheap];
	sp->heap[i]->slot = i;
	heap_up(sp, i);
	heap_down(sp, i);
}

void
spool_schedule(struct spool *sp, struct spool_queue *q, int64_t when)
{
	int64_t old = q->due;

	if (when <= 0)
		when = 1;
	q->due = when;
	if (old == 0) {
		/* queue_new made room: one slot per queue. */
		q->slot = sp->nheap;
		sp->heap[sp->nheap++] = q;
		heap_up(sp, q->slot);
	} else if (when < old) {
		heap_up(sp, q->slot);
	} else {
		heap_down(sp, q->slot);
	}
}

struct spool_queue *
spool_due(struct spool *sp, int64_t now)
{
	struct spool_queue *q;

	if (sp->nheap == 0 || sp->heap[0]->due > now)
		return NULL;
	q = sp->heap[0];
	heap_remove(sp, q);
	return q;
}

int64_t
spool_next_due(const struct spool *sp)
{
	return sp->nheap > 0 ? sp->heap[0]->due : 0;
}

static struct spool_queue *
queue_new(struct spool *sp, const char *url, const char *from)
{
	struct spool_queue *q;
	unsigned h;

	if (sp->nq + 1 > sp->capheap) {
		size_t cap = sp->capheap ? sp->capheap * 2 : 64;
		struct spool_queue **nh;

		/* An array of pointers: a pointer's size is meant. */
		/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
		nh = realloc(sp->heap, cap * sizeof(*nh));
		if (nh == NULL)
			return NULL;
		sp->heap = nh;
		sp->capheap = cap;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->url = strdup(url)) == NULL ||
	    (q->from = strdup(from)) == NULL) {
		if (q)
			free(q->url);
		free(q);
		return NULL;
	}
	h = hash_key(url, from);
	q->hnext = sp->bucket[h];
	sp->bucket[h] = q;
	sp->nq++;
	return q;
}

static void
queue_free(struct spool *sp, struct spool_queue *q)
{
	struct spool_queue **pp = &sp->bucket[hash_key(q->url, q->from)];

	while (*pp && *pp != q)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = q->hnext;
	if (q->due != 0)
		heap_remove(sp, q);
	while (q->head) {
		struct spool_msg *m = q->head;

		q->head = m->next;
		free(m);
	}
	free(q->url);
	free(q->from);
	free(q);
	sp->nq--;
}

/* Puts m in q by seq; usually at the end, so the scan starts there. */
static void
queue_insert(struct spool_queue *q, struct spool_msg *m)
{
	struct spool_msg *after = q->tail;

	while (after && after->seq > m->seq)
		after = after->prev;
	m->q = q;
	m->prev = after;
	m->next = after ? after->next : q->head;
	if (m->next)
		m->next->prev = m;
	else
		q->tail = m;
	if (after)
		after->next = m;
	else
		q->head = m;
	q->n++;
}

/* Takes m out of memory; returns its queue unless that is now freed. */
static struct spool_queue *
forget(struct spool *sp, struct spool_msg *m)
{
	struct spool_queue *q = m->q;

	if (m->prev)
		m->prev->next = m->next;
	else
		q->head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		q->tail = m->prev;
	q->n--;
	sp->used -= m->bytes;
	sp->count--;
	free(m);
	if (q->n > 0)
		return q;
	queue_free(sp, q);
	return NULL;
}

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
		while (sp->bucket[i])
			queue_free(sp, sp->bucket[i]);
	}
	if (sp->dfd >= 0)
		close(sp->dfd);
	free(sp->heap);
	free(sp->path);
	free(sp);
}

/* ---- writing ---- */

/* A header value: no control character (so no line break). */
static int
clean(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	}
	return 1;
}

/* The header of m's file, as parse_head reads it: its length, or -1
 * when it does not fit. */
static int
format_head(char *head, size_t size, const struct spool_meta *m, size_t len)
{
	int hl = snprintf(head, size,
	    "%s\nid %s\nseq %" PRIu64 "\ntime %lld\nkind %s\ntype %s\nto "
	    "%s\nfrom %s\nlength %zu\n\n",
	    SPOOL_MAGIC, m->id, m->seq, (long long)m->first, m->kind, m->type,
	    m->to, m->from, len);

	return hl < 0 || (size_t)hl >= size ? -1 : hl;
}

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
	char head[SPOOL_HEAD_MAX], tmp[NAME_LEN], name[NAME_LEN];
	struct spool_queue *q;
	struct spool_msg *msg;
	unsigned long long size;
	int hl, made = 0;

	if (!clean(m->kind) || !clean(m->type) || !clean(m->to) ||
	    !clean(m->from) || !clean(m->id) || len > BODY_MAX) {
		snprintf(err, errlen,
		    "cannot be spooled: a control character "
		    "in an address, or too long");
		return -1;
	}
	if ((hl = format_head(head, sizeof(head), m, len)) < 0) {
		snprintf(err, errlen, "cannot be spooled: header too long");
		return -1;
	}
	size = (unsigned long long)hl + len;
	if (sp->max > 0 && (size > sp->max || sp->used > sp->max - size))
		return SPOOL_FULL;
	if ((msg = calloc(1, sizeof(*msg))) == NULL)
		goto oom;
	if ((q = spool_queue_find(sp, url, m->from)) == NULL) {
		if ((q = queue_new(sp, url, m->from)) == NULL) {
			free(msg);
			goto oom;
		}
		made = 1;
	}
	file_name(tmp, sizeof(tmp), m->seq, m->id, 1);
	file_name(name, sizeof(name), m->seq, m->id, 0);
	if (write_file(
		sp, tmp, name, head, (size_t)hl, body, len, err, errlen) < 0) {
		free(msg);
		if (made)
			queue_free(sp, q);
		return -1;
	}
	xr_strlcpy(msg->id, m->id, sizeof(msg->id));
	msg->seq = m->seq;
	msg->first = m->first;
	msg->bytes = (size_t)size;
	msg->body_off = (size_t)hl;
	msg->body_len = len;
	queue_insert(q, msg);
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
	char name[NAME_LEN], *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd;

	file_name(name, sizeof(name), m->seq, m->id, 0);
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
	char name[NAME_LEN];

	file_name(name, sizeof(name), m->seq, m->id, 0);
	if (unlinkat(sp->dfd, name, 0) < 0 && errno != ENOENT)
		log_warn("spool: removing %s/%s", sp->path, name);
	return forget(sp, m);
}

/* Renames a file NAME.bad, so that it is kept for a look but not loaded. */
static void
rename_aside(struct spool *sp, const char *name, const char *why)
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
	char name[NAME_LEN];

	file_name(name, sizeof(name), m->seq, m->id, 0);
	rename_aside(sp, name, why);
	return forget(sp, m);
}

/* ---- loading ---- */

/* One header line "key value": value, or NULL; *p moves past it. */
static char *
head_line(char **p, const char *end, const char *key, char *why, size_t whylen)
{
	char *line = *p, *nl = memchr(line, '\n', (size_t)(end - line));
	size_t kl = strlen(key);

	if (nl == NULL) {
		snprintf(why, whylen, "truncated in the header, at '%s'", key);
		return NULL;
	}
	for (char *c = line; c < nl; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(why, whylen,
			    "control character in the header line of '%s'",
			    key);
			return NULL;
		}
	}
	*nl = '\0';
	*p = nl + 1;
	if (kl == 0)
		return line;
	if (strncmp(line, key, kl) != 0 || line[kl] != ' ') {
		snprintf(why, whylen, "'%s' expected in the header", key);
		return NULL;
	}
	return line + kl + 1;
}

static int
valid_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
			(s[n] >= 'A' && s[n] <= 'Z') ||
			(s[n] >= '0' && s[n] <= '9')))
			return 0;
	}
	return n == XR_ID_LEN;
}

/*
 * Parses the header in buf[0..n) (NUL-terminated, changed in place):
 * 0 with m (pointing into buf), the body's offset and length, or -1.
 */
static int
parse_head(char *buf, size_t n, struct spool_meta *m, size_t *off, size_t *blen,
    char *why, size_t whylen)
{
	char *p = buf, *v[9];
	const char *end = buf + n;
	static const char *const keys[] = {
	    "", "id", "seq", "time", "kind", "type", "to", "from", "length"};
	unsigned long long seq, t, len;

	if (n < sizeof(SPOOL_MAGIC) ||
	    memcmp(buf, SPOOL_MAGIC "\n", sizeof(SPOOL_MAGIC)) != 0) {
		snprintf(why, whylen, "not a spool file (no '%s' line)",
		    SPOOL_MAGIC);
		return -1;
	}
	for (size_t i = 0; i < 9; i++) {
		if ((v[i] = head_line(&p, end, keys[i], why, whylen)) == NULL)
			return -1;
	}
	if (p >= end || *p != '\n') {
		snprintf(why, whylen, "no blank line after the header");
		return -1;
	}
	p++;
	if (!valid_id(v[1]) || xr_parse_uint(v[2], 1, UINT64_MAX - 1, &seq) ||
	    xr_parse_uint(v[3], 0, INT64_MAX, &t) ||
	    strcmp(v[4], "message") != 0 ||
	    xr_parse_uint(v[8], 0, BODY_MAX, &len)) {
		snprintf(why, whylen, "bad id, seq, time, kind or length");
		return -1;
	}
	xr_strlcpy(m->id, v[1], sizeof(m->id));
	m->seq = seq;
	m->first = (int64_t)t;
	m->kind = v[4];
	m->type = v[5];
	m->to = v[6];
	m->from = v[7];
	*off = (size_t)(p - buf);
	*blen = (size_t)len;
	return 0;
}

/* A file found by spool_load, before it joins a queue. */
struct found {
	char *name, *url, *from;
	char id[XR_ID_LEN + 1];
	uint64_t seq;
	int64_t first;
	size_t bytes, off, blen;
};

static void
found_free(struct found *f)
{
	free(f->name);
	free(f->url);
	free(f->from);
}

/* The file could not be used: removed if unfinished, else set aside. */
static void
bad_file(struct spool *sp, const char *name, const char *why)
{
	if (strncmp(name, "tmp-", 4) == 0) {
		unlinkat(sp->dfd, name, 0);
		log_warnx("spool: %s/%s: %s; removed (an unfinished write)",
		    sp->path, name, why);
		return;
	}
	rename_aside(sp, name, why);
}

/* Reads the header of name; 1 with f filled, 0 if the file is not used. */
static int
read_found(struct spool *sp, const char *name, spool_url_fn url_of, void *ud,
    struct found *f)
{
	char buf[SPOOL_HEAD_MAX + 1], url[4096], why[XR_ERRLEN];
	struct spool_meta m;
	struct stat st;
	size_t n = 0, off = 0, blen = 0;
	int fd;

	fd = openat(
	    sp->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		log_warn("spool: %s/%s: skipped", sp->path, name);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		log_debug("spool: %s/%s: not a file; skipped", sp->path, name);
		return 0;
	}
	while (n < SPOOL_HEAD_MAX) {
		ssize_t r = read(fd, buf + n, SPOOL_HEAD_MAX - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (parse_head(buf, n, &m, &off, &blen, why, sizeof(why)) < 0) {
		bad_file(sp, name, why);
		return 0;
	}
	if ((unsigned long long)st.st_size != off + blen) {
		if ((unsigned long long)st.st_size < off + blen)
			snprintf(why, sizeof(why),
			    "truncated: %lld of %zu body bytes",
			    (long long)st.st_size - (long long)off, blen);
		else
			snprintf(why, sizeof(why),
			    "%lld bytes past the end of its body",
			    (long long)st.st_size - (long long)(off + blen));
		bad_file(sp, name, why);
		return 0;
	}
	if (m.seq >= sp->next_seq)
		sp->next_seq = m.seq + 1;
	if (url_of(&m, url, sizeof(url), ud) < 0) {
		log_warnx("spool: %s/%s: callback_url gives no URL for it; "
			  "left as it is",
		    sp->path, name);
		return 0;
	}
	memset(f, 0, sizeof(*f));
	if ((f->name = strdup(name)) == NULL ||
	    (f->url = strdup(url)) == NULL ||
	    (f->from = strdup(m.from)) == NULL) {
		found_free(f);
		log_warnx(
		    "spool: %s/%s: out of memory; not loaded", sp->path, name);
		return 0;
	}
	xr_strlcpy(f->id, m.id, sizeof(f->id));
	f->seq = m.seq;
	f->first = m.first;
	f->bytes = (size_t)st.st_size;
	f->off = off;
	f->blen = blen;
	return 1;
}

static int
by_seq(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Gives a found file its canonical name and a place in its queue. */
static int
adopt(struct spool *sp, struct found *f, int64_t due)
{
	char name[NAME_LEN];
	struct spool_queue *q;
	struct spool_msg *m;

	file_name(name, sizeof(name), f->seq, f->id, 0);
	if (strcmp(name, f->name) != 0 &&
	    renameat(sp->dfd, f->name, sp->dfd, name) < 0) {
		log_warn("spool: renaming %s/%s to %s; not loaded", sp->path,
		    f->name, name);
		return -1;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	if ((q = spool_queue_find(sp, f->url, f->from)) == NULL &&
	    (q = queue_new(sp, f->url, f->from)) == NULL) {
		free(m);
		return -1;
	}
	xr_strlcpy(m->id, f->id, sizeof(m->id));
	m->seq = f->seq;
	m->first = f->first;
	m->bytes = f->bytes;
	m->body_off = f->off;
	m->body_len = f->blen;
	queue_insert(q, m);
	sp->used += f->bytes;
	sp->count++;
	if (due > 0 && q->due == 0)
		spool_schedule(sp, q, due);
	return 0;
}

long
spool_load(struct spool *sp, spool_url_fn url_of, void *ud, int64_t due,
    char *err, size_t errlen)
{
	struct found *fs = NULL;
	size_t n = 0, cap = 0;
	long loaded = 0;
	const struct dirent *de;
	DIR *d;

	if ((d = opendir(sp->path)) == NULL) {
		snprintf(
		    err, errlen, "spool_dir %s: %s", sp->path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    ends_with(de->d_name, ".bad"))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct found *nf = realloc(fs, nc * sizeof(*nf));

			if (nf == NULL) {
				log_warnx("spool: out of memory listing %s; "
					  "the rest waits for a restart",
				    sp->path);
				break;
			}
			fs = nf;
			cap = nc;
		}
		if (read_found(sp, de->d_name, url_of, ud, &fs[n]) == 1)
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(fs, n, sizeof(*fs), by_seq);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && fs[i].seq == fs[i - 1].seq) {
			char why[XR_ERRLEN];

			snprintf(why, sizeof(why),
			    "sequence number %" PRIu64 " is also %s's",
			    fs[i].seq, fs[i - 1].name);
			rename_aside(sp, fs[i].name, why);
		} else if (adopt(sp, &fs[i], due) == 0) {
			loaded++;
		}
	}
	for (size_t i = 0; i < n; i++)
		found_free(&fs[i]);
	free(fs);
	return loaded;
}

/* ---- figures ---- */

size_t
spool_count(const struct spool *sp)
{
	return sp->count;
}

unsigned long long
spool_bytes(const struct spool *sp)
{
	return sp->used;
}

size_t
spool_nqueues(const struct spool *sp)
{
	return sp->nq;
}

int64_t
spool_backoff_ms(unsigned long min_s, unsigned long max_s, unsigned attempts,
    unsigned long retry_after_s, uint32_t rnd)
{
	int64_t lo = (int64_t)min_s * 1000, hi = (int64_t)max_s * 1000, d = lo;

	if (hi < lo)
		hi = lo;
	for (unsigned i = 1; i < attempts && d < hi; i++)
		d *= 2;
	if (d > hi)
		d = hi;
	/* Jitter, so that queues that failed together spread out. */
	d = d / 2 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
	if (d < lo)
		d = lo;
	if (retry_after_s > 0) {
		int64_t ra =
		    (int64_t)(retry_after_s < max_s ? retry_after_s : max_s) *
		    1000;

		if (d < ra)
			d = ra;
	}
	return d;
}
