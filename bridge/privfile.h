/*
 * Files only the bridge's user may read: the credentials file and the
 * files holding a secret (secret_file, callback_secret_file).
 */
#ifndef XR_PRIVFILE_H
#define XR_PRIVFILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PRIVFILE_ANY_OWNER ((uid_t)-1)

/*
 * Opens path read-only, refusing a symbolic link, and checks on the
 * opened file (fstat, so that what is checked is what is read) that it
 * is a regular file group and others have no permission on and, unless
 * owner is PRIVFILE_ANY_OWNER, that it belongs to root or to owner.  An
 * open descriptor (its stat in *st), -2 when path does not exist, or -1
 * with "PATH ..." in err.
 */
int privfile_open(
    const char *path, uid_t owner, struct stat *st, char *err, size_t errlen);

#endif
