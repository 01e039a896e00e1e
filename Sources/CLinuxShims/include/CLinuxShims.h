#ifndef DROPSCRIBE_CLINUXSHIMS_H
#define DROPSCRIBE_CLINUXSHIMS_H
#include <sys/types.h>

/* renameat2(2) with RENAME_NOREPLACE: Glibc's Swift module is not built with
   _GNU_SOURCE, so neither is visible from Swift. Returns 0 or -1 with errno. */
int dropscribe_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

/* O_TMPFILE, likewise hidden without _GNU_SOURCE. */
int dropscribe_o_tmpfile(void);

/* Sends one datagram `message` to the AF_UNIX socket `path` (systemd's
   $NOTIFY_SOCKET): a filesystem path, or an abstract name when it starts with '@'.
   Returns 0, or -1 with errno (EINVAL for an empty or too long path). */
int dropscribe_notify_socket_send(const char *path, const char *message);

/* openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS: opens `path` relative to
   `dirfd` only if no component is a symlink and none leaves `dirfd`. Returns a
   descriptor, or -1 with errno (ENOSYS, EPERM or E2BIG where the kernel or a
   seccomp filter lacks openat2: fall back to a per-component walk; ELOOP for a
   symlink; EXDEV for an escape). */
int dropscribe_openat2_beneath(int dirfd, const char *path, int flags, unsigned int mode);
#endif
