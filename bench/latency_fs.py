#!/usr/bin/env python3
"""A simulated network file server: a FUSE passthrough that delays every metadata
operation and counts every operation that reaches it.

Used by `make bench-scale` (bench/bench_scale.py) to show what a rescan costs on
a share, where each stat, lookup and directory read is a round trip to the
server. Benchmark tooling only (Debian's python3-fusepy and fuse3); never a
run-time or test dependency.

    latency_fs.py SOURCE MOUNTPOINT --latency-ms 0.5 --stats FILE

The counts are written to FILE (JSON: operation -> calls) twice a second and at
exit. The kernel's own attribute and entry caches stay at FUSE's defaults (1 s),
a little shorter than an NFS client's (acregmin 3 s, acdirmin 30 s), so more
operations reach this server than would reach an NFS one.
"""
import argparse, errno, json, os, threading, time
from collections import Counter

from fusepy import FUSE, FuseOSError, Operations

METADATA = {"getattr", "readdir", "access", "readlink", "open", "opendir", "statfs", "create",
            "mkdir", "rename", "unlink", "rmdir", "utimens", "chmod", "truncate"}


class LatencyPassthrough(Operations):
    def __init__(self, root, latency, counts):
        self.root = os.path.realpath(root)
        self.latency = latency
        self.counts = counts

    def __call__(self, op, path, *args):
        self.counts[op] += 1
        if op in METADATA and self.latency > 0:
            time.sleep(self.latency)
        if not hasattr(self, op):
            raise FuseOSError(errno.ENOSYS)
        try:
            return getattr(self, op)(path, *args)
        except OSError as e:
            raise FuseOSError(e.errno or errno.EIO)

    def _real(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def getattr(self, path, fh=None):
        st = os.lstat(self._real(path))
        keys = ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid", "st_ino")
        attrs = {k: getattr(st, k) for k in keys}
        attrs["st_mtime"] = st.st_mtime_ns / 1e9
        return attrs

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._real(path))

    def access(self, path, mode):
        if not os.access(self._real(path), mode):
            raise FuseOSError(errno.EACCES)

    def readlink(self, path):
        return os.readlink(self._real(path))

    def statfs(self, path):
        sv = os.statvfs(self._real(path))
        return {k: getattr(sv, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail",
                                            "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}

    def open(self, path, flags):
        return os.open(self._real(path), flags)

    def create(self, path, mode, fi=None):
        return os.open(self._real(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        os.truncate(self._real(path), length)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        os.fsync(fh)

    def release(self, path, fh):
        os.close(fh)

    def rename(self, old, new):
        os.rename(self._real(old), self._real(new))

    def unlink(self, path):
        os.unlink(self._real(path))

    def mkdir(self, path, mode):
        os.mkdir(self._real(path), mode)

    def rmdir(self, path):
        os.rmdir(self._real(path))

    def utimens(self, path, times=None):
        os.utime(self._real(path), times)

    def chmod(self, path, mode):
        os.chmod(self._real(path), mode)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source")
    ap.add_argument("mountpoint")
    ap.add_argument("--latency-ms", type=float, default=0.5)
    ap.add_argument("--stats", required=True)
    a = ap.parse_args()
    counts = Counter()

    def dump():
        tmp = a.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(counts), f)
        os.replace(tmp, a.stats)

    def dumper():
        while True:
            time.sleep(0.5)
            dump()

    threading.Thread(target=dumper, daemon=True).start()
    try:
        FUSE(LatencyPassthrough(a.source, a.latency_ms / 1000, counts), a.mountpoint,
             foreground=True, nothreads=True, allow_other=True, raw_fi=False)
    finally:
        dump()


if __name__ == "__main__":
    main()
