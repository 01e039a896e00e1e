#!/usr/bin/env python3
"""dropscribe vs faster-whisper, side by side on the same files, models, beam and threads.

Run by `make bench` (dev/benchmark time only; nothing here is a run-time or test
dependency). Creates .venv-bench with faster-whisper on first use, then for each
case runs both systems one after the other, REPEAT times each, as separate
processes measured by /usr/bin/time (wall clock and peak RSS, model load
included for both), computes WER against the corpus reference with
Tests/Corpus/wer.py, prints a table and writes BENCHMARKS.md.

    bench/bench.py [--cases tiny-beam5,tiny-greedy,base-beam5,tiny-beam5-int8,tiny-beam5-batch8,tiny-beam5-batch8-gaps,memory-60min,throughput-20clips] [--repeat 2] [--threads 2]

The large-model cases (not in the default list: each model is 0.5-1.6 GB and made on demand, and a
10-minute run takes tens of minutes) are bench/bench_large.py's: turbo-30s and turbo-10min in the
large-v3-turbo shape, distil-30s (distil-large-v3), medium-30s and small-30s.
"""
import argparse, json, os, platform, re, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("DROPSCRIBE_CORPUS", os.path.join(ROOT, ".corpus"))
MODELS = os.environ.get("DROPSCRIBE_MODELS", os.path.join(ROOT, "models"))
VENV = os.path.join(ROOT, ".venv-bench")
BIN = os.path.join(ROOT, ".build", "release", "dropscribe")

CASES = {
    "tiny-beam5": ("long/long-10min.flac", "tiny.en", 5),
    "tiny-greedy": ("long/long-10min.flac", "tiny.en", 1),
    "base-beam5": ("long/long-10min.flac", "base", 5),
    "memory-60min": ("long/long-60min.flac", "tiny.en", 5),
    "quick-1min": ("long/long-01min.flac", "tiny.en", 5),
    # compute_type int8 on both sides (int8 linear layers with activations quantised per row).
    "tiny-beam5-int8": ("long/long-10min.flac", "tiny.en", 5),
    # vad_filter on both sides (Silero VAD v6; faster-whisper's vad_filter=True).
    "tiny-beam5-vad": ("long/long-10min.flac", "tiny.en", 5),
    "base-beam5-int8": ("long/long-10min.flac", "base", 5),
    # dropscribe bfloat16 (needs AVX512-BF16) against faster-whisper int8, the speed it aims at.
    "tiny-beam5-bf16": ("long/long-10min.flac", "tiny.en", 5),
    "base-beam5-bf16": ("long/long-10min.flac", "base", 5),
    "tiny-beam5-batch8": ("long/long-10min.flac", "tiny.en", 5),
    # The same on 10 minutes of which a third is silence, noise and tones (the corpus's long-gaps-10min).
    "tiny-beam5-batch8-gaps": ("long/long-gaps-10min.flac", "tiny.en", 5),
}
VAD_CASES = {"tiny-beam5-vad"}
# Batched mode on both sides (faster-whisper's BatchedInferencePipeline), with dropscribe's
# sequential run as a third system in the same alternation.
BATCH_CASES = {"tiny-beam5-batch8": 8, "tiny-beam5-batch8-gaps": 8}
COMPUTE_TYPE = {"tiny-beam5-int8": "int8", "base-beam5-int8": "int8", "tiny-beam5-bf16": "bfloat16", "base-beam5-bf16": "bfloat16"}
# faster-whisper's compute type where it differs from dropscribe's.
FW_COMPUTE_TYPE = {"bfloat16": "int8"}
# The instruction-set flags each table records (the kernels are chosen from them).
CPU_FLAGS = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16",
             "amx_tile", "amx_int8", "amx_bf16"]
# Full-size random-weight models of real shapes (bench/bench_large.py): the shape and seconds of audio per case.
LARGE_CASES = {"turbo-30s": ("large-v3-turbo", 30), "turbo-10min": ("large-v3-turbo", 600),
               "distil-30s": ("distil-large-v3", 30),
               "large-v3-30s": ("large-v3", 30), "medium-30s": ("medium", 30), "small-30s": ("small", 30)}
# Not a single file: 20 clips through the daemon (workers 1 and 2) against faster-whisper
# transcribing the same files one after another in one process.
THROUGHPUT = "throughput-20clips"

FW_MANY = r"""
import sys, time
from faster_whisper import WhisperModel
model_dir, threads = sys.argv[1:3]
m = WhisperModel(model_dir, device="cpu", compute_type="float32", cpu_threads=int(threads))
for path in sys.argv[3:]:
    segs, info = m.transcribe(path, beam_size=5, language="en")
    list(segs)
"""

DAEMON_CONFIG = """
workers = {workers}
formats = ["txt", "json"]
[model]
path = "{model}"
[watch]
settle_seconds = 0.5
rescan_seconds = 2
"""


def daemon_throughput(clips, model_dir, workers, tmp):
    """Wall time for the daemon to bring every clip to .done (from its start, model loads included)."""
    import shutil, signal
    inbox = os.path.join(tmp, f"inbox-{workers}")
    os.makedirs(inbox)
    cfg = os.path.join(tmp, f"config-{workers}.toml")
    with open(cfg, "w") as f:
        f.write(DAEMON_CONFIG.format(workers=workers, model=model_dir))
    for c in clips:
        shutil.copyfile(c, os.path.join(inbox, os.path.basename(c)))
    start = time.perf_counter()
    d = subprocess.Popen([BIN, "watch", inbox, "--config", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not all(os.path.exists(os.path.join(inbox, os.path.basename(c) + ".done")) for c in clips):
            if d.poll() is not None or any(n.endswith(".failed") for n in os.listdir(inbox)):
                raise RuntimeError(f"daemon run with {workers} workers failed")
            time.sleep(0.2)
        wall = time.perf_counter() - start
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(30)
    return wall


def throughput(fw_python, model_dir, threads, repeat):
    clips = sorted(os.path.join(CORPUS, "clips", n) for n in os.listdir(os.path.join(CORPUS, "clips")) if n.endswith(".wav"))[:20]
    audio = sum(duration(c) for c in clips)
    out = {"audio": audio, "files": len(clips)}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            best = None
            for r in range(repeat):
                sub = os.path.join(tmp, f"run{r}")
                os.makedirs(sub, exist_ok=True)
                wall = daemon_throughput(clips, model_dir, workers, sub)
                print(f"  {THROUGHPUT} dropscribe workers={workers}: {wall:.1f} s", flush=True)
                best = wall if best is None else min(best, wall)
            out[f"dropscribe-w{workers}"] = best
        best = None
        for _ in range(repeat):
            wall, _ = timed([fw_python, "-c", FW_MANY, model_dir, str(threads)] + clips)
            print(f"  {THROUGHPUT} faster-whisper (sequential): {wall:.1f} s", flush=True)
            best = wall if best is None else min(best, wall)
        out["faster-whisper"] = best
    return out


def kernels(model_dir, threads, compute="float32"):
    r = subprocess.run([BIN, "bench-kernels", "--model", model_dir, "--threads", str(threads), "--compute-type", compute],
                       capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else None

FW_SCRIPT = r"""
import json, sys
from faster_whisper import WhisperModel
path, model_dir, beam, threads, out, compute, vad = sys.argv[1:8]
batch = int(sys.argv[8]) if len(sys.argv) > 8 else 0
m = WhisperModel(model_dir, device="cpu", compute_type=compute, cpu_threads=int(threads))
language = "en" if model_dir.endswith(".en") else None
if batch > 1:
    from faster_whisper import BatchedInferencePipeline
    segs, info = BatchedInferencePipeline(m).transcribe(path, beam_size=int(beam), language=language, batch_size=batch)
else:
    segs, info = m.transcribe(path, beam_size=int(beam), language=language, vad_filter=vad == "vad")
json.dump({"segments": [{"start": s.start, "end": s.end, "text": s.text} for s in segs]}, open(out, "w"))
"""


def vad_cost(audio):
    """`dropscribe bench-vad`: the VAD pass's own time on a file's samples (decoding excluded)."""
    r = subprocess.run([BIN, "bench-vad", audio, "--model", os.path.join(MODELS, "silero_vad_v6.onnx")], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else None


def vad_shares(rows):
    """VAD's own cost on each file a VAD or batched case ran, as a share of that case's dropscribe
    transcription (model load included; the VAD runs inside it): the bench's lines about it."""
    lines, costs = [], {}
    for name, rel, model, beam, compute, length, r in rows:
        if name not in VAD_CASES and name not in BATCH_CASES:
            continue
        if rel not in costs:
            costs[rel] = vad_cost(os.path.join(CORPUS, rel))
        v = costs[rel]
        if not v:
            continue
        wall, cpu = r["dropscribe"]["wall"], r["dropscribe"]["cpu"]
        lines += ["", f"VAD's own cost in {name} (`dropscribe bench-vad {rel}`: Silero VAD v6 and the speech timestamps, "
                  f"decoding excluded): {v['vadSeconds']:.2f} s wall, {v['vadCPUSeconds']:.2f} s CPU for {v['audioSeconds'] / 60:.1f} min "
                  f"of audio ({v['windows']} windows, {v['chunks']} speech chunks, {v['speechSeconds'] / 60:.1f} min of speech): "
                  f"{100 * v['vadSeconds'] / wall:.1f}% of the dropscribe transcription's {wall:.1f} s wall time "
                  f"({100 * v['vadCPUSeconds'] / cpu:.1f}% of its {cpu:.1f} CPU seconds; target below 2%)."]
        print(lines[-1], flush=True)
    return lines


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    if subprocess.call([py, "-c", "import faster_whisper"], stderr=subprocess.DEVNULL) != 0:
        subprocess.check_call([py, "-m", "pip", "install", "-q", "faster-whisper==1.2.1", "ctranslate2==4.8.5"])
    return py


def timed(cmd, env=None, with_stderr=False):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS bytes[, its stderr])."""
    start = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {r.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) * 1024
    return (wall, rss, r.stderr) if with_stderr else (wall, rss)


def cpu_seconds(time_stderr):
    """User + system CPU seconds from `/usr/bin/time -v`'s report."""
    return sum(float(re.search(rf"{kind} time \(seconds\): ([0-9.]+)", time_stderr).group(1)) for kind in ("User", "System"))


def wer(ref_file, segments):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(" ".join(s["text"].strip() for s in segments))
        hyp = f.name
    out = subprocess.check_output([sys.executable, os.path.join(ROOT, "Tests/Corpus/wer.py"), ref_file, hyp, "--json"], text=True)
    os.unlink(hyp)
    return json.loads(out)["wer"]


def duration(path):
    out = subprocess.check_output(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path], text=True)
    return float(out.strip())


def cpu_label():
    """The CPU's model name with its cpuid family and model: machines of one brand name
    (an AVX2 EPYC and an AVX-512 one) keep separate tables."""
    info = {}
    for line in open("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    name = info.get("model name") or platform.processor()
    if "cpu family" in info and "model" in info:
        name += f" (family {info['cpu family']}, model {info['model']})"
    return name


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="tiny-beam5,tiny-greedy,base-beam5,tiny-beam5-int8,base-beam5-int8,"
                    "tiny-beam5-bf16,base-beam5-bf16,tiny-beam5-vad,tiny-beam5-batch8,tiny-beam5-batch8-gaps,memory-60min," + THROUGHPUT)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"))
    ap.add_argument("--large-compute", default="float32,int8",
                    help="compute types of the large-model cases (" + ", ".join(LARGE_CASES) + "), comma-separated")
    args = ap.parse_args()
    fw_python = ensure_venv()
    env = dict(os.environ)
    rows, large_rows = [], {}
    tp = None
    cpu = cpu_label()
    flags = set(next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), []))
    flag_line = f"flags {' '.join(f for f in CPU_FLAGS if f in flags) or 'none of ' + ' '.join(CPU_FLAGS)}"
    for name in args.cases.split(","):
        if name in LARGE_CASES:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import bench_large
            shape, seconds = LARGE_CASES[name]
            bench_large.ensure_model(fw_python, shape)
            bench_large.COMPUTE = tuple(args.large_compute.split(","))
            large_rows[shape] = large_rows.get(shape, []) + bench_large.run_case(name, shape, seconds, BIN, fw_python, args.threads, args.repeat, CORPUS,
                                               lambda cmd: timed(cmd, env, with_stderr=True))
            continue
        if name == THROUGHPUT:
            tp = throughput(fw_python, os.path.join(MODELS, "tiny.en"), args.threads, args.repeat)
            continue
        rel, model, beam = CASES[name]
        compute = COMPUTE_TYPE.get(name, "float32")
        audio = os.path.join(CORPUS, rel)
        ref = os.path.splitext(audio)[0] + ".txt"
        model_dir = os.path.join(MODELS, model)
        length = duration(audio)
        with tempfile.TemporaryDirectory() as tmp:
            batch = BATCH_CASES.get(name, 0)
            runs = {"dropscribe": [], "faster-whisper": []}
            if batch:
                runs["dropscribe sequential"] = []
            # The 60-minute case is there for peak RSS, which does not vary between runs: one run each.
            repeat = 1 if name == "memory-60min" else args.repeat
            # Alternating runs, so a drift in the shared machine's speed hits both systems alike.
            for _ in range(repeat):
                for system in list(runs):
                    if system.startswith("dropscribe"):
                        cmd = [BIN, "transcribe", audio, "--model", model_dir, "--beam-size", str(beam),
                               "--threads", str(args.threads), "--format", "json", "--output-dir", tmp,
                               "--compute-type", compute] + (["--vad-filter"] if name in VAD_CASES else []) \
                            + (["--batch-size", str(batch)] if batch and system == "dropscribe" else [])
                        out = os.path.join(tmp, os.path.basename(audio) + ".json")
                    else:
                        out = os.path.join(tmp, "fw.json")
                        cmd = [fw_python, "-c", FW_SCRIPT, audio, model_dir, str(beam), str(args.threads), out,
                               FW_COMPUTE_TYPE.get(compute, compute), "vad" if name in VAD_CASES else "-", str(batch)]
                    wall, rss, report = timed(cmd, env, with_stderr=True)
                    runs[system].append((wall, rss, json.load(open(out))["segments"], cpu_seconds(report)))
                    print(f"  {name} {system}: {wall:.1f} s, {rss / 2**20:.0f} MiB", flush=True)
            results = {}
            for system, done in runs.items():
                median = sorted(done, key=lambda r: r[0])[len(done) // 2]
                results[system] = {"wall": median[0], "rss": max(r[1] for r in done), "wer": wer(ref, median[2]),
                                   "cpu": median[3]}
            rows.append((name, rel, model, beam, compute, length, results))

    for shape, shape_rows in large_rows.items():
        import bench_large
        size = os.path.getsize(os.path.join(bench_large.model_dir(shape), "model.bin"))
        lines = bench_large.section(shape_rows, shape, f"Machine: {cpu}, {os.cpu_count()} cores; {flag_line}.", args.threads,
                                    args.repeat, size)
        print("\n".join(lines))
        bench_large.write(args.output, cpu, shape, lines)
    if not rows and not tp:
        return
    fw_version = subprocess.check_output([fw_python, "-c", "import faster_whisper, ctranslate2; print(faster_whisper.__version__, ctranslate2.__version__)"], text=True).split()
    version = subprocess.check_output([BIN, "--version"], text=True).strip().replace("\n", ", ")
    lines = [
        f"<!-- bench:{cpu} -->", f"## {cpu}", "",
        f"Machine: {cpu}, {os.cpu_count()} cores; {flag_line}. "
        f"dropscribe {version}; faster-whisper {fw_version[0]} (CTranslate2 {fw_version[1]}); float32 unless the case says int8 or bfloat16 "
        "(the bf16 cases run faster-whisper in int8).",
        f"Same files, models, beam and {args.threads} threads; each system as its own process, model load included, median of {args.repeat} "
        "alternating runs, peak RSS the largest (the 60-minute memory case: one run).",
        "× real time = audio length / wall time (higher is faster). WER against the corpus reference (Tests/Corpus/wer.py).", "",
        "| case | file | audio | system | wall s | × real time | peak RSS MiB | WER | dropscribe / faster-whisper |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rel, model, beam, compute, length, r in rows:
        d, f = r["dropscribe"], r["faster-whisper"]
        ratio = f"speed {f['wall'] / d['wall']:.2f}×, memory {d['rss'] / f['rss']:.2f}×, WER {d['wer'] - f['wer']:+.4f}"
        compute = compute + (", vad_filter" if name in VAD_CASES else "") + (f", batch_size {BATCH_CASES[name]}" if name in BATCH_CASES else "")
        seq = r.get("dropscribe sequential")
        if seq:
            ratio += f"; {seq['wall'] / d['wall']:.2f}× dropscribe sequential"
        for system, m in [("dropscribe", d), ("faster-whisper", f)] + ([("dropscribe sequential", seq)] if seq else []):
            lines.append(f"| {name} ({model}, {compute}, beam {beam}) | {rel} | {length / 60:.1f} min | {system} | {m['wall']:.1f} | "
                         f"{length / m['wall']:.1f} | {m['rss'] / 2**20:.0f} | {m['wer']:.4f} | {ratio if system == 'dropscribe' else ''} |")
    if tp:
        lines += ["", f"Throughput ({THROUGHPUT}: {tp['files']} corpus clips, {tp['audio'] / 60:.1f} min of audio, tiny.en, beam 5; "
                  "dropscribe through the daemon from its start to the last X.done, faster-whisper one process transcribing the files in turn):", "",
                  "| system | wall s | audio hours per wall hour | vs faster-whisper |", "|---|---|---|---|"]
        for key, label in (("dropscribe-w1", "dropscribe, workers = 1"), ("dropscribe-w2", "dropscribe, workers = 2"),
                           ("faster-whisper", "faster-whisper, sequential")):
            lines.append(f"| {label} | {tp[key]:.1f} | {tp['audio'] / tp[key]:.1f} | {tp['faster-whisper'] / tp[key]:.2f}× |")
    lines += vad_shares(rows)
    for compute in ("float32", "int8", "bfloat16"):
        k = kernels(os.path.join(MODELS, "tiny.en"), args.threads, compute)
        if k and k["computeType"] == compute:
            unit = "GOP/s" if compute == "int8" else "GFLOP/s"
            peak = f"OpenBLAS sgemm's best here ({k['sgemmPeakGFLOPS']:.1f} GFLOP/s at {k['sgemmShape']})" if compute == "float32" \
                else f"the {compute} product's rate on one encoder layer ({k['kernelPeak']:.1f} {unit})"
            lines += ["", f"Encoder efficiency, {compute} (`dropscribe bench-kernels --compute-type {compute}`, tiny.en, {k['threads']} threads, "
                      f"kernels {k['kernelLevel']}): one 30-s window ({k['encoderGFLOP']:.1f} G operations) in {k['encoderSeconds'] * 1000:.0f} ms "
                      f"= {k['encoderGFLOPS']:.1f} {unit}, {k['percentOfPeak']:.0f}% of {peak}. One encoder layer's products: int8 "
                      f"{k['int8LayerGOPS']:.1f} GOP/s, bfloat16 {k['bf16LayerGFLOPS']:.1f} GFLOP/s. Model load (start-up): {k['modelLoadSeconds']:.2f} s."]
    lines.append("<!-- /bench -->")
    text = "\n".join(lines) + "\n"
    print(text)
    # Replace this CPU's table; keep every other machine's and the sections other scripts write.
    old = open(args.output).read() if os.path.exists(args.output) else "# Benchmarks\n"
    marker = f"<!-- bench:{cpu} -->"
    if marker in old:
        head, rest = old.split(marker, 1)
        text = head + text.rstrip("\n") + rest.split("<!-- /bench -->", 1)[1]
    else:
        head, sep, rest = old.partition("\n")
        text = head + "\n\n" + text + rest
    with open(args.output, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
