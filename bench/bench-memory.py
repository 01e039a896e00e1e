#!/usr/bin/env python3
"""Peak RSS of a real dropscribe worker against the length of the file: 1, 60 and 180 minutes.

Run by `make bench-memory` (benchmark time only). For each file it starts the daemon
(`dropscribe watch`, release build, workers = 1, the default decoding options: tiny.en,
beam 5) on a fresh inbox holding only that file, waits for X.done and reads the
worker's own figures from it (peak RSS from getrusage, wall time, audio length). The
daemon's own peak (VmHWM) is read from /proc before it is stopped.

The target (issue: long-form): the worker's peak on the 3-hour file is at most 1.1x
its peak on the 1-minute file. Prints a table and writes it into BENCHMARKS.md
between the markers <!-- memory --> and <!-- /memory --> (the rest is left alone).

    bench/bench-memory.py [--files long-01min,long-60min,long-180min] [--corpus DIR] [--batch-size 8]

With --batch-size N the worker runs batched mode (vad_filter and batch_size = N: the VAD
pass, then pieces of speech N at a time); its table goes between <!-- memory-batched -->
and <!-- /memory-batched --> instead.
"""
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.environ.get("DROPSCRIBE_MODELS", os.path.join(ROOT, "models"))
BIN = os.path.join(ROOT, ".build", "release", "dropscribe")

CONFIG = """
workers = 1
formats = ["txt", "srt", "vtt", "tsv", "json"]
{batched}
[model]
path = "{model}"
[watch]
settle_seconds = 1
rescan_seconds = 5
"""


def vm_hwm(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def run_one(path, model, batch_size=1):
    with tempfile.TemporaryDirectory(prefix="dropscribe-bench-memory-") as tmp:
        inbox = os.path.join(tmp, "inbox")
        os.mkdir(inbox)
        name = os.path.basename(path)
        try:
            os.link(path, os.path.join(inbox, name))
        except OSError:
            shutil.copyfile(path, os.path.join(inbox, name))
        cfg = os.path.join(tmp, "config.toml")
        with open(cfg, "w") as f:
            batched = "" if batch_size <= 1 else (
                f"vad_filter = true\nbatch_size = {batch_size}\n[vad]\nmodel = \"{os.path.join(MODELS, 'silero_vad_v6.onnx')}\"")
            f.write(CONFIG.format(model=os.path.join(MODELS, model), batched=batched))
        log = open(os.path.join(tmp, "daemon.log"), "w")
        daemon = subprocess.Popen([BIN, "watch", inbox, "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
        done = os.path.join(inbox, name + ".done")
        failed = os.path.join(inbox, name + ".failed")
        started = time.time()
        last = 0
        try:
            while not os.path.exists(done):
                if os.path.exists(failed) or daemon.poll() is not None:
                    raise RuntimeError(f"{name}: no .done ({open(failed).read() if os.path.exists(failed) else 'daemon exited'})"
                                       f"; log: {open(os.path.join(tmp, 'daemon.log')).read()[-2000:]}")
                time.sleep(1)
                if time.time() - last > 60:
                    last = time.time()
                    print(f"    {name}: {time.time() - started:.0f} s ...", flush=True)
            daemon_peak = vm_hwm(daemon.pid)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
        marker = json.load(open(done))
        return {"file": name, "audio": marker.get("audio_duration"), "wall": marker["wall_time"],
                "worker_peak": marker["peak_rss_bytes"], "daemon_peak": daemon_peak}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", default="long-01min,long-60min,long-180min")
    ap.add_argument("--corpus", default=os.path.join(ROOT, ".corpus-long"))
    ap.add_argument("--model", default="tiny.en")
    ap.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"))
    ap.add_argument("--batch-size", type=int, default=1)
    args = ap.parse_args()
    tag = "memory-batched" if args.batch_size > 1 else "memory"
    rows = []
    for stem in args.files.split(","):
        path = os.path.join(args.corpus, "long", stem + ".flac")
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run `Tests/Corpus/make-corpus.sh {args.corpus} --long` (make bench-memory does)")
        print(f"  {stem}: transcribing through the daemon ...", flush=True)
        r = run_one(path, args.model, args.batch_size)
        rows.append(r)
        print(f"  {stem}: worker peak {r['worker_peak'] / 2**20:.1f} MiB, wall {r['wall']:.0f} s", flush=True)
    base = rows[0]["worker_peak"]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mode = f", vad_filter and batch_size = {args.batch_size}" if args.batch_size > 1 else ""
    lines = [f"<!-- {tag} -->", f"## Memory against file length (`make bench-memory`{mode})", "",
             f"Machine: {cpu}, {os.cpu_count()} cores. The real daemon (`dropscribe watch`, workers = 1, {args.model}, "
             f"beam 5{mode}, all five output formats) on an inbox holding one file; the worker's peak RSS (getrusage) "
             "and wall time come from its X.done; the daemon's peak is its VmHWM.", "",
             "| file | audio | wall s | × real time | worker peak RSS MiB | vs first file | daemon peak RSS MiB |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        audio = r["audio"] or 0
        lines.append(f"| {r['file']} | {audio / 60:.0f} min | {r['wall']:.0f} | {audio / r['wall']:.1f} | "
                     f"{r['worker_peak'] / 2**20:.1f} | {r['worker_peak'] / base:.3f}× | "
                     f"{(r['daemon_peak'] or 0) / 2**20:.1f} |")
    lines.append(f"<!-- /{tag} -->")
    section = "\n".join(lines) + "\n"
    print(section)
    text = open(args.output).read() if os.path.exists(args.output) else "# Benchmarks\n"
    if f"<!-- {tag} -->" in text and f"<!-- /{tag} -->" in text:
        head, rest = text.split(f"<!-- {tag} -->", 1)
        tail = rest.split(f"<!-- /{tag} -->", 1)[1].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(args.output, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
