"""Full-size random-weight models beside faster-whisper (the large-model cases of bench.py:
`turbo-*` in the large-v3-turbo shape, `distil-30s`, `medium-30s`, `small-30s`).

The models (float16, random weights, 0.5-1.6 GB) are made on demand by bench/make-full-size-model.py
into ~/.cache/dropscribe-bench. Random weights decode garbage, so both sides decode the same way
and the tokens are compared instead of a WER: temperature 0 only (no fallback), no window
skipped as silence, language pinned to English, beam 5 and faster-whisper's own length limit
(448, so at most 224 new tokens a window) on both. dropscribe float32 and int8 run beside
faster-whisper float32 and int8, alternating, one process per run (model load included);
load time is the model's construction as each reports it (dropscribe's "model loaded"
log line, shown by log_level = "debug"; faster-whisper's WhisperModel() call). Writes its own section of BENCHMARKS.md.
"""
import json, os, re, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (cpu_seconds: the one parse of /usr/bin/time -v)

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "dropscribe-bench")
BEAM = 5
COMPUTE = ("float32", "int8")

FW_SCRIPT = r"""
import json, sys, time
from faster_whisper import WhisperModel
path, model_dir, beam, threads, out, compute = sys.argv[1:7]
t0 = time.perf_counter()
m = WhisperModel(model_dir, device="cpu", compute_type=compute, cpu_threads=int(threads))
load = time.perf_counter() - t0
segs, info = m.transcribe(path, beam_size=int(beam), language="en", temperature=0.0, compression_ratio_threshold=None,
                          log_prob_threshold=None, no_speech_threshold=None)
json.dump({"load": load, "segments": [{"start": s.start, "end": s.end, "tokens": s.tokens} for s in segs]}, open(out, "w"))
"""

CONFIG = """log_level = "debug"
[model]
temperatures = [0.0]
no_speech_threshold = 1.0
language = "en"
"""


def model_dir(shape):
    return os.path.join(CACHE, f"{shape}-random")


def ensure_model(python, shape):
    """The model folder of `shape`, made first if missing (`python` needs ctranslate2 and numpy)."""
    path = model_dir(shape)
    if not os.path.exists(os.path.join(path, ".complete")):
        subprocess.check_call([python, os.path.join(HERE, "make-full-size-model.py"), "--shape", shape, path])
    return path


def clip(corpus, seconds, tmp):
    """The first `seconds` of the 1-minute corpus file, or the 10-minute file itself."""
    if seconds == 600:
        return os.path.join(corpus, "long", "long-10min.flac")
    out = os.path.join(tmp, f"long-{seconds}s.flac")
    subprocess.check_call(["ffmpeg", "-v", "error", "-y", "-i", os.path.join(corpus, "long", "long-01min.flac"),
                           "-t", str(seconds), out])
    return out


def run_case(name, shape, seconds, binary, fw_python, threads, repeat, corpus, timed):
    """Alternating runs of dropscribe and faster-whisper at each compute type; medians."""
    rows = []
    model = model_dir(shape)
    with tempfile.TemporaryDirectory() as tmp:
        audio = clip(corpus, seconds, tmp)
        cfg = os.path.join(tmp, "config.toml")
        with open(cfg, "w") as f:
            f.write(CONFIG)
        for compute in COMPUTE:
            runs = {"dropscribe": [], "faster-whisper": []}
            for _ in range(repeat):
                for system in runs:
                    if system == "dropscribe":
                        out = os.path.join(tmp, os.path.basename(audio) + ".json")
                        cmd = [binary, "transcribe", audio, "--config", cfg, "--model", model, "--beam-size", str(BEAM),
                               "--threads", str(threads), "--format", "json", "--output-dir", tmp, "--compute-type", compute]
                    else:
                        out = os.path.join(tmp, "fw.json")
                        cmd = [fw_python, "-c", FW_SCRIPT, audio, model, str(BEAM), str(threads), out, compute]
                    wall, rss, stderr = timed(cmd)
                    result = json.load(open(out))
                    if system == "dropscribe":
                        m = re.search(r"load\.s=(\d+\.\d+)", stderr)
                        result["load"] = float(m.group(1)) if m else float("nan")
                    tokens = [t for s in result["segments"] for t in s["tokens"]]
                    cpu = bench.cpu_seconds(stderr)
                    runs[system].append((wall, rss, result["load"], tokens, cpu))
                    print(f"  {name} {compute} {system}: {wall:.1f} s ({cpu:.1f} s CPU), {rss / 2**20:.0f} MiB, "
                          f"load {result['load']:.2f} s, {len(tokens)} tokens", flush=True)
            med = {}
            for system, done in runs.items():
                walls = sorted(r[0] for r in done)
                loads = sorted(r[2] for r in done)
                cpus = sorted(r[4] for r in done)
                med[system] = {"wall": walls[len(walls) // 2], "load": loads[len(loads) // 2], "cpu": cpus[len(cpus) // 2],
                               "rss": max(r[1] for r in done), "tokens": done[-1][3]}
            rows.append((name, seconds, compute, med))
    return rows


def same_prefix(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def section(rows, shape, cpu_line, threads, repeat, model_bytes):
    """The BENCHMARKS.md section for these rows (all of one model shape)."""
    mib = model_bytes / 2**20
    cases = ", ".join(sorted({r[0] for r in rows}))
    lines = [f"Full-size {shape}-shaped model (`bench/bench.py --cases {cases}`; float16 model.bin of {mib:.0f} MiB, random "
             "weights from bench/make-full-size-model.py). " + cpu_line,
             f"{threads} threads, beam {BEAM}, temperature 0 only, no window skipped, language en, at most 224 new tokens a window "
             f"on both sides; median of {repeat} alternating runs, model load included in the wall and CPU (user + system) time, "
             "peak RSS the largest. "
             + ("Targets (issues 14 and 17): " if shape == "large-v3-turbo" else
                "Issues 14 and 17 set their targets on the large-v3-turbo shape; the same bounds for this one: ")
             + "dropscribe int8 at least 1.5x faster-whisper int8 with RSS below it; float32 at most "
             f"1.2 x model.bin + 300 MB = {1.2 * mib + 300 * 1e6 / 2**20:.0f} MiB, int8 at most 0.6 x model.bin + 300 MB = "
             f"{0.6 * mib + 300 * 1e6 / 2**20:.0f} MiB.", "",
             "| case | compute | system | load s | wall s | CPU s | peak RSS MiB | tokens | tokens equal to faster-whisper's | dropscribe / faster-whisper |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, seconds, compute, med in rows:
        d, f = med["dropscribe"], med["faster-whisper"]
        ratio = f"speed {f['wall'] / d['wall']:.2f}x (CPU {f['cpu'] / d['cpu']:.2f}x), memory {d['rss'] / f['rss']:.2f}x"
        same = f"all {len(f['tokens'])}" if d["tokens"] == f["tokens"] else \
            f"the first {same_prefix(d['tokens'], f['tokens'])} of {len(f['tokens'])}"
        for system, m in (("dropscribe", d), ("faster-whisper", f)):
            lines.append(f"| {name} | {compute} | {system} | {m['load']:.2f} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['rss'] / 2**20:.0f} | "
                         f"{len(m['tokens'])} | {same if system == 'dropscribe' else ''} | {ratio if system == 'dropscribe' else ''} |")
    return lines


def write(output, cpu, shape, lines):
    """Replaces this CPU's section for this model shape in BENCHMARKS.md (or adds it at the end)."""
    key = cpu if shape == "large-v3-turbo" else f"{cpu}: {shape}"
    marker, end = f"<!-- bench-large:{key} -->", "<!-- /bench-large -->"
    text = "\n".join([marker, f"### {cpu}: {shape} shape", ""] + lines + [end]) + "\n"
    old = open(output).read() if os.path.exists(output) else "# Benchmarks\n"
    if marker in old:
        head, rest = old.split(marker, 1)
        new = head + text.rstrip("\n") + rest.split(end, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + text
    with open(output, "w") as f:
        f.write(new)
