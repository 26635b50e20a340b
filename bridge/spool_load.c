/*
 * The spool at start: every file of spool_dir read back into the queues,
 * in arrival order, and those that are not whole spool files put aside.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool_priv.h"

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
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
	spool_rename_aside(sp, name, why);
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
	if (spool_parse_head(buf, n, &m, &off, &blen, why, sizeof(why)) < 0) {
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
	char name[SPOOL_NAME_LEN];
	struct spool_queue *q;
	struct spool_msg *m;

	spool_file_name(name, sizeof(name), f->seq, f->id, 0);
	if (strcmp(name, f->name) != 0 &&
	    renameat(sp->dfd, f->name, sp->dfd, name) < 0) {
		log_warn("spool: renaming %s/%s to %s; not loaded", sp->path,
		    f->name, name);
		return -1;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	if ((q = spool_queue_find(sp, f->url, f->from)) == NULL &&
	    (q = spool_queue_new(sp, f->url, f->from)) == NULL) {
		free(m);
		return -1;
	}
	xr_strlcpy(m->id, f->id, sizeof(m->id));
	m->seq = f->seq;
	m->first = f->first;
	m->bytes = f->bytes;
	m->body_off = f->off;
	m->body_len = f->blen;
	spool_queue_insert(q, m);
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
			spool_rename_aside(sp, fs[i].name, why);
		} else if (adopt(sp, &fs[i], due) == 0) {
			loaded++;
		}
	}
	for (size_t i = 0; i < n; i++)
		found_free(&fs[i]);
	free(fs);
	return loaded;
}
