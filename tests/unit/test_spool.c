/*
 * The webhook spool (bridge/spool*.c): files written whole and read back,
 * truncated and corrupt files set aside, spool_max_bytes, the order of
 * a reload, the due heap, the back-off; and the Retry-After that the
 * HTTP client hands to it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "spool.h"
#include "t.h"

#define URL_A "http://127.0.0.1:1/hook/a"
#define URL_B "http://127.0.0.1:1/hook/b"
#define ALICE "alice@example.org/phone"
#define BOB "bob@example.org/desk"

static char base[256];

static void
path_of(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void
rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	const struct dirent *de;
	char p[1024];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		path_of(p, sizeof(p), dir, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_rf(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Names in dir ending in suffix (or all but . and ..). */
static int
count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	const struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), sl = suffix ? strlen(suffix) : 0;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (suffix == NULL ||
		    (l >= sl && strcmp(de->d_name + l - sl, suffix) == 0))
			n++;
	}
	closedir(d);
	return n;
}

static int
write_raw(const char *dir, const char *name, const char *data, size_t len)
{
	char p[1024];
	int fd, rc;

	path_of(p, sizeof(p), dir, name);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	rc = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return rc;
}

static char *
read_raw(const char *dir, const char *name, size_t *len)
{
	char p[1024], *buf;
	struct stat st;
	FILE *f;

	path_of(p, sizeof(p), dir, name);
	if (stat(p, &st) < 0 || (f = fopen(p, "rb")) == NULL)
		return NULL;
	buf = calloc(1, (size_t)st.st_size + 1);
	if (buf && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

static int
url_same(const struct spool_meta *m, char *url, size_t size, void *ud)
{
	/* The URL template of the test: one URL per "to". */
	(void)ud;
	snprintf(url, size, "http://127.0.0.1:1/hook/%s",
	    strcmp(m->to, "b@rest") == 0 ? "b" : "a");
	return 0;
}

static int
put(struct spool *sp, const char *url, uint64_t seq, const char *from,
    const char *body, struct spool_msg **out)
{
	struct spool_meta m;
	struct spool_msg *dummy;
	char err[XR_ERRLEN];

	snprintf(m.id, sizeof(m.id), "id%022llu", (unsigned long long)seq);
	m.seq = seq;
	m.first = 1767225600000LL + (int64_t)seq;
	m.kind = "message";
	m.type = "chat";
	m.to = strcmp(url, URL_B) == 0 ? "b@rest" : "a@rest";
	m.from = from;
	return spool_put(sp, url, &m, body, strlen(body), out ? out : &dummy,
	    err, sizeof(err));
}

static struct spool *
open_at(const char *dir, unsigned long max)
{
	char err[XR_ERRLEN];
	struct spool *sp =
	    spool_open(dir, max, (uid_t)-1, (gid_t)-1, err, sizeof(err));

	if (sp == NULL)
		printf("# spool_open %s: %s\n", dir, err);
	return sp;
}

static void
test_round_trip(void)
{
	char dir[512], err[XR_ERRLEN], *body, *raw;
	struct spool *sp;
	struct spool_msg *m = NULL;
	struct stat st;
	size_t len = 0;
	const char *msg =
	    "<message from='alice@example.org/phone' "
	    "to='a@rest' id='m1'><body>h\xc3\xa9llo</body></message>";

	snprintf(dir, sizeof(dir), "%s/deep/er/spool", base);
	sp = open_at(dir, 1 << 20);
	T_OK(sp != NULL, "spool_open makes a missing directory, parents too");
	if (sp == NULL)
		return;
	T_OK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700,
	    "... mode 0700");
	T_EQ_INT(put(sp, URL_A, 7, ALICE, msg, &m), 0, "a message is spooled");
	T_OK(m != NULL && m->seq == 7 &&
		strcmp(m->id, "id0000000000000000000007") == 0,
	    "its metadata is kept in memory");
	T_EQ_INT(count_files(dir, ".msg"), 1, "one file, named .msg");
	T_EQ_INT(count_files(dir, NULL), 1, "no temporary file is left");
	raw = read_raw(
	    dir, "00000000000000000007-id0000000000000000000007.msg", &len);
	T_OK(raw != NULL, "the file is named SEQ-ID.msg");
	{
		char want[512];

		snprintf(want, sizeof(want),
		    "xmpp-rest-spool 1\nid id0000000000000000000007\nseq 7\n"
		    "time 1767225600007\nkind message\ntype chat\nto "
		    "a@rest\nfrom alice@example.org/phone\nlength %zu\n\n"
		    "<message ",
		    strlen(msg));
		T_OK(raw != NULL && strncmp(raw, want, strlen(want)) == 0,
		    "the header is as documented");
	}
	T_OK(raw && len == strlen(raw) &&
		strcmp(raw + len - strlen(msg), msg) == 0,
	    "the body ends the file");
	free(raw);
	body = spool_read(sp, m, &len, err, sizeof(err));
	T_OK(body != NULL && len == strlen(msg) && strcmp(body, msg) == 0,
	    "spool_read gives the body back, byte for byte");
	free(body);
	T_OK(spool_queue_find(sp, URL_A, ALICE) == m->q,
	    "its (URL, sender) has a queue");
	T_OK(spool_queue_find(sp, URL_A, BOB) == NULL &&
		spool_queue_find(sp, URL_B, ALICE) == NULL,
	    "other pairs have none");
	T_OK(stat(dir, &st) == 0, "the directory is there");
	T_OK(spool_remove(sp, m) == NULL,
	    "removing the last message frees its queue");
	T_OK(spool_queue_find(sp, URL_A, ALICE) == NULL, "... it is gone");
	T_EQ_INT(count_files(dir, NULL), 0, "... and so is the file");
	T_EQ_INT(spool_count(sp), 0, "nothing counted");
	T_EQ_INT(spool_bytes(sp), 0, "no bytes counted");
	T_OK(put(sp, URL_A, 8, "al\nice", msg, NULL) == -1,
	    "a line break in an address is refused");
	T_EQ_INT(count_files(dir, NULL), 0, "... and nothing written");
	spool_close(sp);
	rm_rf(dir);
}

static void
test_max_bytes(void)
{
	char dir[512];
	struct spool *sp;
	struct spool_msg *m1 = NULL;
	const char *body = "<message><body>0123456789</body></message>";
	unsigned long long one;

	snprintf(dir, sizeof(dir), "%s/max", base);
	sp = open_at(dir, 1);
	T_EQ_INT(put(sp, URL_A, 1, ALICE, body, NULL), SPOOL_FULL,
	    "spool_max_bytes 1: nothing fits");
	T_EQ_INT(count_files(dir, NULL), 0, "... nothing is written");
	T_OK(
	    spool_queue_find(sp, URL_A, ALICE) == NULL, "... no queue is left");
	spool_close(sp);

	sp = open_at(dir, 100000);
	put(sp, URL_A, 1, ALICE, body, &m1);
	one = spool_bytes(sp);
	T_OK(one > strlen(body), "a file counts its header and its body");
	spool_close(sp);
	rm_rf(dir);

	sp = open_at(dir, (unsigned long)(3 * one));
	T_EQ_INT(put(sp, URL_A, 1, ALICE, body, &m1), 0, "1st of 3 fits");
	T_EQ_INT(put(sp, URL_A, 2, ALICE, body, NULL), 0, "2nd fits");
	T_EQ_INT(put(sp, URL_B, 3, ALICE, body, NULL), 0, "3rd fits exactly");
	T_EQ_INT(spool_bytes(sp), 3 * one, "the bytes add up");
	T_EQ_INT(put(sp, URL_B, 4, ALICE, body, NULL), SPOOL_FULL,
	    "a 4th is refused: SPOOL_FULL");
	T_EQ_INT(count_files(dir, NULL), 3, "... and not written");
	spool_remove(sp, m1);
	T_EQ_INT(put(sp, URL_B, 4, ALICE, body, NULL), 0,
	    "after a removal there is room again");
	T_EQ_INT(spool_count(sp), 3, "three spooled");
	spool_close(sp);
	rm_rf(dir);
}

static void
test_reload_order(void)
{
	char dir[512], err[XR_ERRLEN];
	struct spool *sp;
	struct spool_queue *qa, *qb;
	const struct spool_msg *m;
	uint64_t want[] = {2, 5, 9}, got[3];
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/order", base);
	sp = open_at(dir, 1 << 20);
	put(sp, URL_A, 9, ALICE, "<message id='9'/>", NULL);
	put(sp, URL_A, 2, ALICE, "<message id='2'/>", NULL);
	put(sp, URL_B, 4, ALICE, "<message id='4'/>", NULL);
	put(sp, URL_A, 5, ALICE, "<message id='5'/>", NULL);
	put(sp, URL_A, 3, BOB, "<message id='3'/>", NULL);
	qa = spool_queue_find(sp, URL_A, ALICE);
	for (m = qa ? TAILQ_FIRST(&qa->msgs) : NULL; m && n < 3;
	     m = TAILQ_NEXT(m, link))
		got[n++] = m->seq;
	T_OK(n == 3 && memcmp(got, want, sizeof(want)) == 0,
	    "spooled out of order, a queue is kept by sequence number");
	spool_close(sp);

	sp = open_at(dir, 1 << 20);
	T_EQ_INT(spool_load(sp, url_same, NULL, 1000, err, sizeof(err)), 5,
	    "a reload finds the five messages");
	T_EQ_INT(spool_nqueues(sp), 3, "in three queues (URL, sender)");
	qa = spool_queue_find(sp, URL_A, ALICE);
	qb = spool_queue_find(sp, URL_B, ALICE);
	n = 0;
	for (m = qa ? TAILQ_FIRST(&qa->msgs) : NULL; m && n < 3;
	     m = TAILQ_NEXT(m, link))
		got[n++] = m->seq;
	T_OK(n == 3 && memcmp(got, want, sizeof(want)) == 0 && qa->n == 3,
	    "in the order they arrived");
	T_OK(qa && TAILQ_FIRST(&qa->msgs)->first == 1767225600002LL &&
		strcmp(TAILQ_FIRST(&qa->msgs)->id,
		    "id0000000000000000000002") == 0,
	    "with their arrival time and delivery id");
	T_OK(qb != NULL && qb->n == 1 && TAILQ_FIRST(&qb->msgs)->seq == 4,
	    "another URL, another queue");
	T_OK(spool_queue_find(sp, URL_A, BOB) != NULL, "another sender too");
	T_OK(spool_next_seq(sp) == 10, "new messages come after the old");
	T_OK(qa && qa->due == 1000 && qb->due == 1000,
	    "every loaded queue is due when asked");
	{
		char *b = NULL;
		size_t len = 0;

		if (qa)
			b = spool_read(
			    sp, TAILQ_FIRST(&qa->msgs), &len, err, sizeof(err));
		T_EQ_STR(b, "<message id='2'/>", "a loaded body reads back");
		free(b);
	}
	spool_close(sp);
	rm_rf(dir);
}

/* Beside a copy of good: files cut short, too long, corrupt, left by a
 * crash, a repeated sequence number, a directory. */
static void
write_bad_files(const char *dir, const char *good, size_t len)
{
	char *buf, sub[600];

	/* Cut short, in the body and in the header. */
	write_raw(dir, "trunc-body.msg", good, len - 5);
	write_raw(dir, "trunc-head.msg", good, 30);
	write_raw(dir, "empty", "", 0);
	write_raw(dir, "garbage", "\x01\x02 not a spool file\n\n<x/>", 24);
	/* One byte too many. */
	buf = malloc(len + 1);
	memcpy(buf, good, len);
	buf[len] = 'x';
	write_raw(dir, "long.msg", buf, len + 1);
	/* A bad value: control character, wrong kind, bad id. */
	memcpy(buf, good, len);
	*strstr(buf, "chat") = '\x07';
	write_raw(dir, "ctl.msg", buf, len);
	memcpy(buf, good, len);
	memcpy(strstr(buf, "message\n"), "iqiqiqi\n", 8);
	write_raw(dir, "kind.msg", buf, len);
	/* A temporary file left by a crash: unfinished, and whole. */
	write_raw(dir, "tmp-00000000000000000002-id0000000000000000000002",
	    good, len - 1);
	memcpy(buf, good, len);
	memcpy(strstr(buf, "seq 1"), "seq 3", 5);
	write_raw(
	    dir, "tmp-00000000000000000003-id0000000000000000000001", buf, len);
	/* The same sequence number twice. */
	write_raw(dir, "again.msg", good, len);
	free(buf);
	mkdir(dir, 0700);
	snprintf(sub, sizeof(sub), "%s/a-directory", dir);
	mkdir(sub, 0700);
}

/* The first load keeps what is good and sets the rest aside. */
static void
load_bad_files(const char *dir)
{
	char err[XR_ERRLEN], p[700];
	struct spool *sp = open_at(dir, 1 << 20);
	const struct spool_queue *q;

	T_EQ_INT(spool_load(sp, url_same, NULL, 0, err, sizeof(err)), 2,
	    "only the good file and the whole temporary one are loaded");
	q = spool_queue_find(sp, URL_A, ALICE);
	T_OK(q != NULL && q->n == 2 && TAILQ_FIRST(&q->msgs)->seq == 1 &&
		TAILQ_NEXT(TAILQ_FIRST(&q->msgs), link)->seq == 3,
	    "in order");
	path_of(p, sizeof(p), dir,
	    "00000000000000000003-id0000000000000000000001.msg");
	T_OK(access(p, F_OK) == 0,
	    "the whole temporary file got its proper name");
	T_EQ_INT(count_files(dir, ".bad"), 9 - 1,
	    "the truncated, long, corrupt and duplicate ones are set aside "
	    "as .bad");
	path_of(p, sizeof(p), dir, "trunc-body.msg.bad");
	T_OK(access(p, F_OK) == 0, "trunc-body.msg became .bad");
	path_of(p, sizeof(p), dir, "garbage.bad");
	T_OK(access(p, F_OK) == 0, "garbage became .bad");
	path_of(p, sizeof(p), dir,
	    "tmp-00000000000000000002-id0000000000000000000002");
	T_OK(access(p, F_OK) < 0,
	    "the unfinished temporary file is "
	    "removed");
	path_of(p, sizeof(p), dir, "a-directory");
	T_OK(access(p, F_OK) == 0, "a directory is left alone");
	spool_close(sp);
}

/* A second load sees only what is good: .bad files stay put.  name1, a
 * copy of good, is then cut short under the spool. */
static void
reload_bad_files(
    const char *dir, const char *name1, const char *good, size_t len)
{
	char err[XR_ERRLEN];
	struct spool *sp = open_at(dir, 1 << 20);
	struct spool_queue *q;
	size_t got = 0;

	T_EQ_INT(spool_load(sp, url_same, NULL, 0, err, sizeof(err)), 2,
	    "a second load finds the same two");
	T_EQ_INT(count_files(dir, ".bad"), 8, "and sets nothing else aside");
	q = spool_queue_find(sp, URL_A, ALICE);
	/* A file that changed under us is noticed when it is read. */
	write_raw(dir, name1, good, len - 1);
	T_OK(q &&
		spool_read(sp, TAILQ_FIRST(&q->msgs), &got, err, sizeof(err)) ==
		    NULL,
	    "a file cut short after loading fails to read");
	T_HAS(err, "size", "... and says so");
	q = spool_set_aside(sp, TAILQ_FIRST(&q->msgs), err);
	T_OK(q != NULL && q->n == 1, "spool_set_aside takes it out");
	T_EQ_INT(count_files(dir, ".bad"), 9, "... as one more .bad file");
	spool_close(sp);
}

static void
test_bad_files(void)
{
	char dir[512], *good;
	struct spool *sp;
	size_t len = 0;
	const char name1[] =
	    "00000000000000000001-id0000000000000000000001.msg";

	snprintf(dir, sizeof(dir), "%s/bad", base);
	sp = open_at(dir, 1 << 20);
	put(sp, URL_A, 1, ALICE, "<message id='good'><body>x</body></message>",
	    NULL);
	spool_close(sp);
	good = read_raw(dir, name1, &len);
	T_OK(good != NULL, "a good file to copy");
	if (good == NULL)
		return;
	write_bad_files(dir, good, len);
	load_bad_files(dir);
	reload_bad_files(dir, name1, good, len);
	free(good);
	rm_rf(dir);
}

static void
test_write_error(void)
{
	char dir[512];
	struct spool *sp;
	struct rlimit old, small;
	char big[8192];
	int rc;

	snprintf(dir, sizeof(dir), "%s/full", base);
	sp = open_at(dir, 1 << 20);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* A disk that fills up, as a file size limit (SIGXFSZ ignored). */
	getrlimit(RLIMIT_FSIZE, &old);
	small = old;
	small.rlim_cur = 4096;
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &small);
	rc = put(sp, URL_A, 1, ALICE, big, NULL);
	setrlimit(RLIMIT_FSIZE, &old);
	T_EQ_INT(rc, -1, "a write error is reported, not a crash");
	T_EQ_INT(count_files(dir, NULL), 0, "the partial file is removed");
	T_EQ_INT(spool_count(sp), 0, "nothing is counted");
	T_OK(spool_queue_find(sp, URL_A, ALICE) == NULL, "no queue is left");
	T_EQ_INT(put(sp, URL_A, 2, ALICE, "<message/>", NULL), 0,
	    "a small one still fits afterwards");
	spool_close(sp);
	rm_rf(dir);
}

static void
test_open_errors(void)
{
	char dir[512], err[XR_ERRLEN];
	struct spool *sp;

	snprintf(dir, sizeof(dir), "%s/plainfile", base);
	write_raw(base, "plainfile", "x", 1);
	sp = spool_open(dir, 100, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	T_OK(sp == NULL, "a file where the directory should be is refused");
	T_HAS(err, dir, "... naming it");
	snprintf(dir, sizeof(dir), "%s/plainfile/sub", base);
	sp = spool_open(dir, 100, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	T_OK(sp == NULL, "so is a path through a file");
	T_HAS(err, "spool_dir", "... naming the key");
	snprintf(dir, sizeof(dir), "%s/owned", base);
	mkdir(dir, 0700);
	sp = spool_open(dir, 100, getuid() + 1, getgid(), err, sizeof(err));
	T_OK(sp == NULL, "a directory of another user is refused");
	T_HAS(err, "belongs to uid", "... saying whose it is");
	rmdir(dir);
}

/* As root, every directory spool_open makes is given to the owner (by
 * descriptor now: the path is walked with openat). */
static void
test_open_owner(void)
{
	char dir[512], mid[512], err[XR_ERRLEN];
	struct spool *sp;
	struct stat st;

	if (geteuid() != 0) {
		printf("ok - # SKIP owner test needs root\n");
		return;
	}
	snprintf(mid, sizeof(mid), "%s/own", base);
	snprintf(dir, sizeof(dir), "%s/own/spool/", base);
	sp = spool_open(dir, 100, 65534, 65534, err, sizeof(err));
	T_OK(sp != NULL, "as root, spool_open makes the directories for owner");
	spool_close(sp);
	T_OK(stat(mid, &st) == 0 && st.st_uid == 65534 && st.st_gid == 65534,
	    "... the parent it made belongs to the owner");
	T_OK(stat(dir, &st) == 0 && st.st_uid == 65534 &&
		(st.st_mode & 0777) == 0700,
	    "... and the spool itself, mode 0700");
	rm_rf(mid);
}

static void
test_due_heap(void)
{
	char dir[512];
	struct spool *sp;
	struct spool_queue *q[5];
	const char *from[5] = {"a@x/1", "b@x/1", "c@x/1", "d@x/1", "e@x/1"};
	int64_t when[5] = {500, 100, 400, 200, 300};
	int ok = 1;

	snprintf(dir, sizeof(dir), "%s/heap", base);
	sp = open_at(dir, 1 << 20);
	for (int i = 0; i < 5; i++) {
		struct spool_msg *m = NULL;

		put(sp, URL_A, (uint64_t)i + 1, from[i], "<message/>", &m);
		q[i] = m ? m->q : NULL;
		if (q[i])
			spool_schedule(sp, q[i], when[i]);
	}
	T_EQ_INT(spool_next_due(sp), 100, "the earliest is due first");
	T_OK(spool_due(sp, 99) == NULL, "nothing is due before it");
	spool_schedule(sp, q[0], 50);
	T_EQ_INT(spool_next_due(sp), 50, "moving one earlier reorders");
	spool_schedule(sp, q[0], 450);
	for (int64_t t = 100; t <= 500; t += 100) {
		struct spool_queue *d = spool_due(sp, 1000);

		if (d == NULL || d->due != 0)
			ok = 0;
		if (t == 400 && d != q[2])
			ok = 0;
		if (t == 500 && d != q[0])
			ok = 0;
	}
	T_OK(ok, "spool_due takes them by time (and marks them not due)");
	T_OK(spool_due(sp, 1000) == NULL, "then none is left");
	spool_schedule(sp, q[3], 10);
	spool_schedule(sp, q[4], 20);
	T_OK(spool_remove(sp, TAILQ_FIRST(&q[3]->msgs)) == NULL &&
		spool_next_due(sp) == 20,
	    "a queue that empties leaves the heap");
	spool_close(sp);
	rm_rf(dir);
}

static void
test_backoff(void)
{
	int ok = 1;

	T_EQ_INT(spool_backoff_ms(1, 300, 1, 0, 0), 1000,
	    "after the 1st failure: callback_retry_min");
	T_EQ_INT(spool_backoff_ms(1, 300, 3, 0, 0xffffffffU) <= 4000, 1,
	    "doubling: at most 4 s after the 3rd");
	T_EQ_INT(spool_backoff_ms(1, 300, 3, 0, 0), 2000,
	    "jitter takes at most half");
	T_EQ_INT(spool_backoff_ms(1, 300, 40, 0, 0xffffffffU) <= 300000, 1,
	    "never over callback_retry_max");
	for (uint32_t r = 0; r < 5000; r += 7) {
		int64_t d = spool_backoff_ms(1, 2, 5, 0, r * 2654435761U);

		if (d < 1000 || d > 2000)
			ok = 0;
	}
	T_OK(ok, "min 1 max 2: always within [1 s, 2 s]");
	T_EQ_INT(spool_backoff_ms(1, 300, 1, 30, 0), 30000,
	    "Retry-After: 30 is honoured");
	T_EQ_INT(spool_backoff_ms(1, 300, 1, 3600, 0), 300000,
	    "a Retry-After past callback_retry_max is cut to it");
	T_EQ_INT(spool_backoff_ms(5, 300, 1, 1, 0), 5000,
	    "a short Retry-After does not shorten the back-off");
}

static void
test_retry_after(void)
{
	struct http_response r;
	char err[XR_ERRLEN];
	static const char *const resp[] = {"HTTP/1.1 503 Busy\r\nRetry-After: "
					   "120\r\nContent-Length: 0\r\n\r\n",
	    "HTTP/1.1 503 Busy\r\nRetry-After: Fri, 31 Dec 1999 23:59:59 "
	    "GMT\r\nContent-Length: 0\r\n\r\n",
	    "HTTP/1.1 429 Slow\r\nretry-after:  7 \r\nContent-Length: "
	    "0\r\n\r\n",
	    "HTTP/1.1 503 Busy\r\nRetry-After: 99999999999999999999\r\n"
	    "Content-Length: 0\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"};
	unsigned long want[] = {120, 0, 7, HTTP_RETRY_AFTER_MAX, 0};
	const char *what[] = {"Retry-After: 120 is read",
	    "an HTTP-date is ignored, not refused",
	    "any case, white space around it", "a huge one is capped",
	    "none: 0"};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int rc = http_parse_response(
		    resp[i], strlen(resp[i]), 1, 100, &r, err, sizeof(err));

		T_OK(rc == 1 && r.retry_after == want[i], what[i]);
		http_response_free(&r);
	}
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	log_init("test_spool", 0, LOG_LVL_ERROR);
	snprintf(base, sizeof(base), "%s/xr-test-spool-XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_round_trip();
	test_max_bytes();
	test_reload_order();
	test_bad_files();
	test_write_error();
	test_open_errors();
	test_open_owner();
	test_due_heap();
	test_backoff();
	test_retry_after();
	rm_rf(base);
	return t_done();
}
