#!/usr/bin/env python3
"""Goldens for batched mode: faster-whisper 1.2.1's BatchedInferencePipeline(batch_size=8).

Usage (dev venv with faster-whisper 1.2.1; never at test time):
    /work/.venv-parity/bin/python Tests/Golden/batched/make-batched-goldens.py MODELS_DIR [CORPUS_DIR]

The samples are decoded with `ffmpeg -ac 1 -ar 16000 -f s16le` (/ 32768, as dropscribe's
decoder gives them) and handed to the pipeline as an array, so the comparison is of the
VAD, the packing and the decoding, not of PyAV's decoder. tiny.en, float32, 2 threads,
every other option the pipeline's default (VAD on with its batched defaults, beam 5,
no timestamps, temperature 0). Writes Tests/Golden/batched/<file>-tiny.en-batch8.json.
"""
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = ["long/long-01min.flac", "long/long-10min.flac", "long/long-gaps.flac"]


def samples(path):
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-ac", "1", "-ar", "16000",
                          "-f", "s16le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    models = sys.argv[1]
    corpus = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "..", ".corpus")
    import faster_whisper
    from faster_whisper import BatchedInferencePipeline, WhisperModel
    model = WhisperModel(os.path.join(models, "tiny.en"), device="cpu", compute_type="float32", cpu_threads=2)
    pipeline = BatchedInferencePipeline(model)
    for rel in FILES:
        audio = samples(os.path.join(corpus, rel))
        segments, info = pipeline.transcribe(audio, batch_size=8)
        segs = [{"id": s.id, "seek": s.seek, "start": s.start, "end": s.end, "text": s.text} for s in segments]
        name = os.path.basename(rel) + "-tiny.en-batch8.json"
        with open(os.path.join(HERE, name), "w") as f:
            json.dump({"faster_whisper": faster_whisper.__version__, "file": rel, "batch_size": 8,
                       "duration": info.duration, "duration_after_vad": info.duration_after_vad,
                       "segments": segs}, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"{name}: {len(segs)} pieces' segments, {info.duration_after_vad:.2f} of {info.duration:.2f} s kept")


if __name__ == "__main__":
    main()
