#include "CLinuxShims.h"
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/openat2.h>

int dropscribe_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

int dropscribe_o_tmpfile(void) { return O_TMPFILE; }

int dropscribe_notify_socket_send(const char *path, const char *message) {
    struct sockaddr_un addr;
    size_t len = path ? strlen(path) : 0;
    if (len == 0 || len >= sizeof(addr.sun_path) || (path[0] != '/' && path[0] != '@')) {
        errno = EINVAL;
        return -1;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path, len);
    socklen_t addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (path[0] == '@') {
        addr.sun_path[0] = '\0';           /* abstract namespace: no trailing NUL counted */
    } else {
        addrlen += 1;                      /* a path: include its NUL */
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    size_t mlen = strlen(message);
    ssize_t sent;
    do {
        sent = sendto(fd, message, mlen, MSG_NOSIGNAL, (const struct sockaddr *)&addr, addrlen);
    } while (sent < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (sent < 0) { errno = saved; return -1; }
    if ((size_t)sent != mlen) { errno = EMSGSIZE; return -1; }
    return 0;
}

int dropscribe_openat2_beneath(int dirfd, const char *path, int flags, unsigned int mode) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    long fd;
    do {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    return (int)fd;
}
