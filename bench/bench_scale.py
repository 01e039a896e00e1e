#!/usr/bin/env python3
"""What an idle daemon costs on an inbox full of finished jobs (make bench-scale).

For each size (finished jobs: the source, its .done marker and its .txt), the
release daemon watches the inbox with inotify on and off while nothing changes,
and the script measures, from outside the process:

  - CPU seconds per rescan   (utime+stime from /proc over several rescans)
  - system calls per rescan  (strace -c -f attached for several rescans)
  - the daemon's peak RSS    (VmHWM)
  - new file -> claim        (a file renamed into the inbox until its .processing
                              or .done marker exists; inotify off, so the rescan must find it)
  - `dropscribe status` wall time and the lines it prints

and, on a simulated network share (bench/latency_fs.py: a FUSE passthrough adding
a fixed latency to each metadata operation), the wall time of a rescan and the
operations that reached the server per rescan.

The inboxes are made once into .bench-scale/ (about 12 GB at 1,000,000 jobs) with
real marker contents (the same JSON the daemon writes, fingerprints of the real
files). The daemon runs with the hidden test transcriber so no model is needed.

    bench/bench_scale.py [--sizes 10000,100000,1000000] [--per-dir 1000] [--rescan 10]
                         [--rescans 3] [--fuse-size 100000] [--fuse-latency-ms 0.5]
                         [--binary PATH] [--label TEXT] [--json FILE]
"""
import argparse, json, os, platform, re, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".bench-scale")
CLK = os.sysconf("SC_CLK_TCK")

CONFIG = """
formats = ["txt"]
workers = 1
log_level = "debug"
[watch]
rescan_seconds = {rescan}
settle_seconds = {settle}
inotify = {inotify}
"""


def cpu_info():
    model, flags = platform.processor(), ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = " ".join(sorted(x for x in line.split(":", 1)[1].split()
                                        if x.startswith(("avx", "amx", "fma", "sse4"))))
                break
    return model, flags, os.cpu_count()


def make_inbox(jobs, per_dir):
    """An inbox of `jobs` finished jobs in folders of `per_dir`, made once and reused."""
    path = os.path.join(CACHE, f"inbox-{jobs}-{per_dir}")
    stamp = os.path.join(path, ".made-3")
    if os.path.exists(stamp):
        return path
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    started = time.time()
    host = platform.node()
    for i in range(jobs):
        folder = os.path.join(path, f"day-{i // per_dir:04d}")
        if i % per_dir == 0:
            os.mkdir(folder)
        name = f"memo-{i:07d}.m4a"
        src = os.path.join(folder, name)
        fd = os.open(src, os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"\0" * 512)
        os.close(fd)
        # Whole seconds: the FUSE binding hands the kernel float timestamps, which cannot carry
        # nanoseconds of a current date exactly; a rounded mtime would look like a changed source.
        whole = int(started) * 10**9
        os.utime(src, ns=(whole, whole))
        st = os.stat(src)
        fp = {"device": st.st_dev, "inode": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        done = {"attempts": 1, "audio_duration": 62.4, "fingerprint": fp, "finished": started, "host": host,
                "model": "tiny.en", "outputs": [name + ".txt"], "peak_rss_bytes": 280_000_000,
                "real_time_factor": 14.2, "source_mtime_ns": st.st_mtime_ns, "source_size": st.st_size,
                "wall_time": 4.4}
        with open(src + ".done", "w") as f:
            json.dump(done, f, sort_keys=True, separators=(",", ":"))
        with open(src + ".txt", "w") as f:
            f.write("A voice memo transcript of a few words.\n")
        if i and i % 100_000 == 0:
            print(f"  made {i} jobs ({time.time() - started:.0f} s)", file=sys.stderr)
    open(stamp, "w").close()
    print(f"  made {jobs} jobs in {time.time() - started:.0f} s", file=sys.stderr)
    return path


class Daemon:
    """The release daemon on an inbox, its log followed for the debug `rescan` lines."""

    def __init__(self, binary, inbox, rescan, inotify, tmp, settle=1):
        self.config = os.path.join(tmp, f"config-{inotify}.toml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(rescan=rescan, settle=settle, inotify="true" if inotify else "false"))
        self.log_path = os.path.join(tmp, f"daemon-{inotify}-{time.time():.0f}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "watch", inbox, "--config", self.config, "--test-transcriber"],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.offset = 0
        self.rescans = []          # ms of each finished rescan, in order

    def poll_log(self):
        with open(self.log_path) as f:
            f.seek(self.offset)
            text = f.read()
            self.offset = f.tell()
        for line in text.splitlines():
            if re.search(r"\brescan\b", line) and "ms=" in line:
                m = re.search(r"ms=(\d+)", line)
                self.rescans.append(int(m.group(1)) if m else 0)

    def wait_rescans(self, count, timeout):
        """Waits until `count` more rescans have finished."""
        self.poll_log()
        target = len(self.rescans) + count
        end = time.time() + timeout
        while len(self.rescans) < target:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited ({self.proc.returncode}); log: {self.log_path}")
            if time.time() > end:
                raise RuntimeError(f"no rescan within {timeout} s; log: {self.log_path}")
            time.sleep(0.05)
            self.poll_log()
        return self.rescans[target - count:target]

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK

    def peak_rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def syscalls_over_rescans(daemon, rescans, timeout):
    """System calls of the daemon and its threads (strace -c -f) over `rescans` rescans."""
    out = daemon.log_path + ".strace"
    # Every thread of the daemon: -f follows only threads made after the attach.
    threads = [a for t in os.listdir(f"/proc/{daemon.proc.pid}/task") for a in ("-p", t)]
    strace = subprocess.Popen(["strace", "-c", "-f", "-o", out] + threads,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    daemon.wait_rescans(1, timeout)            # start counting at a rescan boundary
    daemon.wait_rescans(rescans, timeout)
    strace.send_signal(signal.SIGINT)
    strace.wait(timeout=60)
    with open(out) as f:
        for line in f:
            if line.strip().endswith("total"):
                # % time, seconds, usecs/call, calls, [errors], "total"
                return int(line.split()[3]) / (rescans + 1)
    return float("nan")


def claim_latency(daemon, inbox, timeout):
    """Seconds from a new file's rename into the inbox to its first marker."""
    folder = os.path.join(inbox, "day-0000")
    name = f"new-{time.time_ns()}.m4a"
    tmp = os.path.join(folder, "." + name)
    with open(tmp, "wb") as f:
        f.write(b"\0" * 512)
    start = time.time()
    os.rename(tmp, os.path.join(folder, name))
    end = start + timeout
    while time.time() < end:
        if any(os.path.exists(os.path.join(folder, name + s)) for s in (".processing", ".done", ".failed")):
            return time.time() - start
        time.sleep(0.02)
    return float("inf")


def status_time(binary, inbox):
    start = time.time()
    out = subprocess.run([binary, "status", inbox], capture_output=True, text=True, timeout=600)
    return time.time() - start, out.stdout.count("\n")


def measure(binary, inbox, jobs, inotify, a, tmp):
    d = Daemon(binary, inbox, a.rescan, inotify, tmp)
    try:
        first = d.wait_rescans(1, a.timeout)[0]
        cpu0 = d.cpu_seconds()
        ms = d.wait_rescans(a.rescans, a.timeout)
        cpu = (d.cpu_seconds() - cpu0) / a.rescans
        calls = syscalls_over_rescans(d, a.rescans, a.timeout)
        latency = claim_latency(d, inbox, a.rescan + 60) if not inotify else claim_latency(d, inbox, 60)
        rss = d.peak_rss_mib()
    finally:
        d.stop()
    return {"jobs": jobs, "entries": jobs * 3, "inotify": inotify, "first_scan_ms": first,
            "rescan_ms": sorted(ms)[len(ms) // 2], "cpu_s_per_rescan": cpu, "syscalls_per_rescan": calls,
            "syscalls_per_job": calls / jobs, "peak_rss_mib": rss, "claim_s": latency}


def measure_fuse(binary, inbox, a, tmp):
    mnt = os.path.join(tmp, "share")
    os.makedirs(mnt)
    stats = os.path.join(tmp, "fs-stats.json")
    fs = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "bench", "latency_fs.py"), inbox, mnt,
                           "--latency-ms", str(a.fuse_latency_ms), "--stats", stats],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.ismount(mnt):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the FUSE share did not mount (is /dev/fuse usable? fuse3 and python3-fusepy installed?)")

        def ops():
            time.sleep(0.6)
            with open(stats) as f:
                return sum(json.load(f).values())

        d = Daemon(binary, mnt, a.rescan, False, tmp)
        try:
            d.wait_rescans(1, a.timeout * 4)
            ops0 = ops()
            ms = d.wait_rescans(a.rescans, a.timeout * 4)
            per_rescan = (ops() - ops0) / a.rescans
        finally:
            d.stop()
        return {"jobs": a.fuse_size, "latency_ms": a.fuse_latency_ms, "rescan_ms": sorted(ms)[len(ms) // 2],
                "ops_per_rescan": per_rescan, "ops_per_job": per_rescan / a.fuse_size}
    finally:
        subprocess.run(["fusermount3", "-u", mnt], stderr=subprocess.DEVNULL)
        fs.terminate()
        fs.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--per-dir", type=int, default=1000)
    ap.add_argument("--rescan", type=float, default=10)
    ap.add_argument("--rescans", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--fuse-size", type=int, default=100000)
    ap.add_argument("--fuse-latency-ms", type=float, default=0.5)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "dropscribe"))
    ap.add_argument("--label", default="")
    ap.add_argument("--json", help="append the results as one JSON line to this file")
    a = ap.parse_args()
    model, flags, cores = cpu_info()
    print(f"# {a.label or 'dropscribe'}: {model}, {cores} cores ({flags}); rescan_seconds {a.rescan:g}, "
          f"{a.per_dir} jobs a folder, {a.rescans} rescans measured", flush=True)
    rows, fuse = [], None
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for jobs in [int(x) for x in a.sizes.split(",") if x]:
            inbox = make_inbox(jobs, a.per_dir)
            st, lines = status_time(a.binary, inbox)
            for inotify in (True, False):
                r = measure(a.binary, inbox, jobs, inotify, a, tmp)
                r.update(status_s=st, status_lines=lines)
                rows.append(r)
                print(json.dumps(r), flush=True)
        if a.fuse_size:
            fuse = measure_fuse(a.binary, make_inbox(a.fuse_size, a.per_dir), a, tmp)
            print(json.dumps(fuse), flush=True)
    print()
    print("| finished jobs | inotify | CPU s / rescan | rescan ms | syscalls / rescan | syscalls / job | peak RSS MiB | new file → claim s | status s (lines) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['jobs']:,} | {'on' if r['inotify'] else 'off'} | {r['cpu_s_per_rescan']:.3f} | {r['rescan_ms']} | "
              f"{r['syscalls_per_rescan']:,.0f} | {r['syscalls_per_job']:.3f} | {r['peak_rss_mib']:.0f} | "
              f"{r['claim_s']:.1f} | {r['status_s']:.2f} ({r['status_lines']}) |")
    if fuse:
        print()
        print(f"Simulated share ({fuse['latency_ms']} ms per metadata operation), {fuse['jobs']:,} finished jobs, inotify off: "
              f"rescan {fuse['rescan_ms'] / 1000:.1f} s wall, {fuse['ops_per_rescan']:,.0f} operations reached the server "
              f"per rescan ({fuse['ops_per_job']:.2f} per job)")
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps({"label": a.label, "cpu": model, "flags": flags, "rows": rows, "fuse": fuse}) + "\n")


if __name__ == "__main__":
    main()
