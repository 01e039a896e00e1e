#!/usr/bin/env python3
"""Worker reuse (issue 17): 20 corpus clips through the daemon, workers = 1 and 2, with a
fresh worker process per job (worker_max_jobs = 1, the old behaviour) and with workers
that keep their model (worker_max_jobs = 200, the default), beside faster-whisper
transcribing the same files in turn in one process. Wall time from the daemon's start
to the last X.done; model loads included on both sides. Prints a Markdown table.

    bench/bench_reuse.py [--repeat 1] [--threads 2]
"""
import argparse, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (its daemon runner, venv and timing helpers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    model_dir = os.path.join(bench.MODELS, "tiny.en")
    clip_dir = os.path.join(bench.CORPUS, "clips")
    clips = sorted(os.path.join(clip_dir, n) for n in os.listdir(clip_dir) if n.endswith(".wav"))[:20]
    audio = sum(bench.duration(c) for c in clips)
    rows = []
    template = bench.DAEMON_CONFIG
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            for max_jobs in (1, 200):
                bench.DAEMON_CONFIG = f"worker_max_jobs = {max_jobs}\n" + template
                best = None
                for r in range(args.repeat):
                    sub = os.path.join(tmp, f"w{workers}-m{max_jobs}-{r}")
                    os.makedirs(sub)
                    wall = bench.daemon_throughput(clips, model_dir, workers, sub)
                    print(f"  dropscribe workers={workers} worker_max_jobs={max_jobs}: {wall:.1f} s", flush=True)
                    best = wall if best is None else min(best, wall)
                rows.append((f"dropscribe, workers = {workers}, worker_max_jobs = {max_jobs}", best))
        fw_python = bench.ensure_venv()
        best = None
        for _ in range(args.repeat):
            wall, _ = bench.timed([fw_python, "-c", bench.FW_MANY, model_dir, str(args.threads)] + clips)
            print(f"  faster-whisper (one process, in turn): {wall:.1f} s", flush=True)
            best = wall if best is None else min(best, wall)
        rows.append(("faster-whisper, one process", best))
    fw = rows[-1][1]
    print(f"\n{len(clips)} clips, {audio / 60:.1f} min of audio, tiny.en, beam 5, {args.threads} threads\n")
    print("| system | wall s | audio hours per wall hour | vs faster-whisper |\n|---|---|---|---|")
    for label, wall in rows:
        print(f"| {label} | {wall:.1f} | {audio / wall:.1f} | {fw / wall:.2f}× |")


if __name__ == "__main__":
    main()
