#!/usr/bin/env python3
"""Make the PyAV decode goldens: what faster-whisper's own decode_audio (PyAV, the FFmpeg
its wheel bundles) gives for every corpus file of formats/ and resampled/.

Run by hand in a dev venv (never at test time):
    python3 -m venv .venv-parity && .venv-parity/bin/pip install faster-whisper==1.2.1
    .venv-parity/bin/python Tests/MediaDecodingTests/make-pyav-goldens.py
(the corpus is $DROPSCRIBE_CORPUS, else .corpus; make it with `make corpus`)

Writes Golden/pyav-decode.json, per file: the file's sha256 (so a golden is never
compared with other audio), the number of 16 kHz samples, the sha256 of the int16
samples (little-endian; decode_audio's float32 is int16 / 32768, so this is lossless),
their sum of squares, and SAMPLED of them at fixed positions
((2i + 1) * count // (2 * SAMPLED), i < SAMPLED) for files the test allows to differ.
PyAVGoldenTests.swift compares dropscribe's decode with it. libopus (CELT and hybrid modes)
encodes the same input to other bytes on other CPUs (an Intel Xeon and an AMD EPYC with the
same AVX2/FMA/AVX-512 flags did), so entries made on other machines, for their versions of
a file, are kept, each with the CPU that made it (`made_on`); run the script on each machine
kind the tests run on.

    .venv-parity/bin/python Tests/MediaDecodingTests/make-pyav-goldens.py --compare .build/release/dropscribe
writes nothing: it sets every sample of dropscribe's decode (`dropscribe bench-decode
--output`) beside PyAV's and prints, per file, the counts, the largest difference in
LSB, how many samples differ and the RMS difference (full scale = 1).
"""
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile

import av
import faster_whisper
import numpy as np
from faster_whisper.audio import decode_audio

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.environ.get("DROPSCRIBE_CORPUS") or os.path.join(HERE, "..", "..", ".corpus")
DIRS = ["formats", "resampled"]
SAMPLED = 512
OUT = os.path.join(HERE, "Golden", "pyav-decode.json")


def media_files(directory):
    names = sorted(os.listdir(os.path.join(CORPUS, directory)))
    return [f"{directory}/{n}" for n in names if not n.endswith((".txt", ".tsv"))]


def cpu_flags():
    """The x86 flags that decide libswresample's float kernels (FMA3 and AVX2 here)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
        return sorted(set(flags) & {"avx", "avx2", "fma"})
    except (OSError, StopIteration):
        return []


def cpu_label():
    """The CPU that made a golden's corpus file: its model name, cpuid family and model."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return f"{info.get('model name', platform.processor())} (family {info.get('cpu family', '?')}, model {info.get('model', '?')})"


def golden(rel):
    path = os.path.join(CORPUS, rel)
    with open(path, "rb") as f:
        file_sha = hashlib.sha256(f.read()).hexdigest()
    audio = decode_audio(path)
    q = np.round(audio.astype(np.float64) * 32768).astype(np.int64)
    assert np.array_equal(q / 32768, audio), f"{rel}: not int16 / 32768"
    pcm = q.astype("<i2").tobytes()
    n = len(q)
    positions = [(2 * i + 1) * n // (2 * SAMPLED) for i in range(SAMPLED)]
    return {
        "file": rel,
        "sha256": file_sha,
        "samples": n,
        "s16_sha256": hashlib.sha256(pcm).hexdigest(),
        "sum_squares": int(np.sum(q * q)),
        "sampled": [int(q[p]) for p in positions],
    }


def compare(binary):
    """Prints how far dropscribe's decode of each file is from PyAV's, over every sample."""
    total = differing = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "samples.s16")
        for rel in [rel for d in DIRS for rel in media_files(d)]:
            path = os.path.join(CORPUS, rel)
            theirs = np.round(decode_audio(path).astype(np.float64) * 32768).astype(np.int64)
            subprocess.run([binary, "bench-decode", "--output", out, path], check=True, capture_output=True)
            ours = np.fromfile(out, dtype="<i2").astype(np.int64)
            n = min(len(ours), len(theirs))
            d = np.abs(ours[:n] - theirs[:n])
            nz = int(np.count_nonzero(d))
            total += n
            differing += nz
            rms = float(np.sqrt(np.mean((d / 32768.0) ** 2))) if n else 0.0
            print(f"{rel:40s} pyav {len(theirs):7d} ours {len(ours):7d}  max {int(d.max()) if n else 0:3d} LSB"
                  f"  differing {nz:6d} ({100 * nz / max(n, 1):6.3f}%)  rms {rms:.2e}")
    print(f"all files: {differing} of {total} samples differ")


def main():
    if not os.path.isdir(os.path.join(CORPUS, "resampled")):
        sys.exit(f"no {CORPUS}/resampled: run `make corpus`")
    if len(sys.argv) == 3 and sys.argv[1] == "--compare":
        return compare(sys.argv[2])
    made_on = cpu_label()
    files = [dict(golden(rel), made_on=made_on) for d in DIRS for rel in media_files(d)]
    # Some encoders (libopus in its CELT modes) write other bytes on other CPUs, so a corpus
    # file can exist in several versions: keep the goldens other machines made for theirs.
    fresh = {(f["file"], f["sha256"]) for f in files}
    if os.path.exists(OUT):
        files += [f for f in json.load(open(OUT))["files"] if (f["file"], f["sha256"]) not in fresh]
    files.sort(key=lambda f: (f["file"], f.get("made_on", "")))
    doc = {
        "made_by": "Tests/MediaDecodingTests/make-pyav-goldens.py",
        "faster_whisper": faster_whisper.__version__,
        "pyav": av.__version__,
        "ffmpeg": av._core.ffmpeg_version_info,
        "machine": platform.machine(),
        "cpu_flags": cpu_flags(),
        "sampled_per_file": SAMPLED,
        "files": files,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    head = json.dumps({k: v for k, v in doc.items() if k != "files"}, indent=1)[:-2]
    rows = ",\n  ".join(json.dumps(f, separators=(",", ":")) for f in files)
    with open(OUT, "w") as f:
        f.write(f'{head},\n "files": [\n  {rows}\n ]\n}}\n')
    json.load(open(OUT))  # well-formed
    print(f"wrote {OUT}: {len(files)} files")


if __name__ == "__main__":
    main()
