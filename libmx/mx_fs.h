/* Small file-system helpers with errors that name the path. */
#ifndef MX_FS_H
#define MX_FS_H

#include "mx_buf.h"
#include "mx_err.h"

#include <sys/types.h>

int mx_mkdir_p(const char *path, mode_t mode, mx_err *err);
/* Removes path and everything below it; a missing path is not an error. */
int mx_rm_rf(const char *path, mx_err *err);
int mx_read_file(const char *path, mx_buf *out, mx_err *err);
/* Like mx_read_file, failing (MX_USAGE) once the file turns out larger than max bytes. */
int mx_read_file_max(const char *path, size_t max, mx_buf *out, mx_err *err);
/* Creates or truncates path with exactly `mode` (umask does not widen or narrow it). */
int mx_write_file(const char *path, const void *data, size_t len, mode_t mode, mx_err *err);
int mx_path_exists(const char *path);
/* Whether some process holds an flock on the file at path (an owner's lock: the kernel drops it
 * when the owner dies, whatever its pid is reused for): 1 held, 0 free, -1 no such file (or
 * it cannot be opened).  Takes and drops the lock itself when it is free. */
int mx_flock_held(const char *path);
/* Writes all of data to fd, retrying short writes and EINTR.  0, or -1 with errno set. */
int mx_write_all(int fd, const void *data, size_t len);
/* Joins a and b with one '/'; caller frees. */
char *mx_path_join(const char *a, const char *b);
/* Returns the directory part of path (a new string). */
char *mx_dirname(const char *path);

#endif
