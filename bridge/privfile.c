/*
 * The one check of a file that only the bridge's user may read.  Group or
 * other permission of any kind is refused, not only reading: whoever may
 * write the file may put their own token or secret in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privfile.h"

int
privfile_open(
    const char *path, uid_t owner, struct stat *st, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -2;
		}
		if (errno == ELOOP)
			snprintf(err, errlen,
			    "%s: a symbolic link; refusing to follow it", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if ((st->st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "%s is readable or writable by group or others (mode "
		    "%04o); chmod 600 it",
		    path, (unsigned)(st->st_mode & 07777));
		goto fail;
	}
	/* Its owner could open it up again at any time. */
	if (owner != PRIVFILE_ANY_OWNER && st->st_uid != 0 &&
	    st->st_uid != owner) {
		snprintf(err, errlen,
		    "%s belongs to uid %lu, neither root nor the bridge's "
		    "user (uid %lu); chown it to the bridge's user",
		    path, (unsigned long)st->st_uid, (unsigned long)owner);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}
