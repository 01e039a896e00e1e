#!/usr/bin/env python3
"""Make the VAD goldens: Silero VAD v6 speech probabilities (onnxruntime, through
faster-whisper's own SileroVADModel) and faster-whisper's speech timestamps.

Run by hand in a dev venv (never at test time):
    python3 -m venv .venv-vad && .venv-vad/bin/pip install faster-whisper==1.2.1 onnxruntime
    .venv-vad/bin/python Tests/VoiceActivityTests/make-vad-goldens.py [--transcripts MODELS_DIR]
(the corpus is $DROPSCRIBE_CORPUS, else .corpus)

Samples are decoded with `ffmpeg -ac 1 -ar 16000 -f f32le`, as VoiceActivityTests
decodes them, so the comparison is of the VAD alone, not of PyAV's decoder. Synthetic
signals (digital silence, seeded noise) are generated identically in the tests.
Writes Golden/vad-goldens.json: per input its length, the per-window probabilities
(rounded to 1e-6) and the timestamps for each option set in OPTION_SETS.

With --transcripts MODELS_DIR it also writes Tests/Golden/vad/*.json: faster-whisper's
own `transcribe(path, vad_filter=True)` (PyAV decoding, defaults, tiny.en, float32) of
TRANSCRIPT_FILES, for the parity test in Tests/DropscribeTests/VADTranscriptionTests.swift.
"""
import json
import os
import subprocess
import sys

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.environ.get("DROPSCRIBE_CORPUS") or os.path.join(HERE, "..", "..", ".corpus")

# (name, corpus file, samples kept: None = all). The cuts hit faster-whisper's padding
# quirks: a length that is a whole number of windows (one window of zeros is added) and
# one whose last window ends within the 64 samples it zeroes.
INPUTS = [
    ("clip-01", "clips/clip-01.wav", None),
    ("clip-07-whole-windows", "clips/clip-07.wav", 512 * 100),
    ("clip-12-last-window-500", "clips/clip-12.wav", 512 * 150 + 500),
    ("long-01min", "long/long-01min.flac", None),
    ("long-10min", "long/long-10min.flac", None),
    ("silence-60s", None, 16000 * 60),
    ("noise-60s", None, 16000 * 60),
]

# Option sets the timestamp tests replay (each key as in faster-whisper's VadOptions).
OPTION_SETS = {
    "default": {},
    "tight": {"min_silence_duration_ms": 300, "speech_pad_ms": 100, "min_speech_duration_ms": 250},
    "max-speech": {"max_speech_duration_s": 4.0, "min_silence_duration_ms": 500, "speech_pad_ms": 30},
    "thresholds": {"threshold": 0.7, "neg_threshold": 0.2, "min_silence_duration_ms": 150, "speech_pad_ms": 0},
}


def noise(n, seed=12345):
    """xorshift32 noise in [-0.1, 0.1): the same recurrence as the Swift tests'."""
    out = np.empty(n, dtype=np.float32)
    x = seed
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = np.float32((x / 4294967296.0 - 0.5) * 0.2)
    return out


def load(name, rel, keep):
    if rel is None:
        return np.zeros(keep, dtype=np.float32) if name.startswith("silence") else noise(keep)
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", os.path.join(CORPUS, rel),
                          "-ac", "1", "-ar", "16000", "-f", "f32le", "-"], check=True, capture_output=True).stdout
    audio = np.frombuffer(raw, dtype=np.float32).copy()
    return audio if keep is None else audio[:keep]


TRANSCRIPT_FILES = ["long/long-01min.flac"]


def transcript_goldens(models):
    from faster_whisper import WhisperModel
    whisper = WhisperModel(os.path.join(models, "tiny.en"), device="cpu", compute_type="float32")
    out_dir = os.path.join(HERE, "..", "Golden", "vad")
    os.makedirs(out_dir, exist_ok=True)
    for rel in TRANSCRIPT_FILES:
        segments, info = whisper.transcribe(os.path.join(CORPUS, rel), vad_filter=True)
        segs = [{"start": s.start, "end": s.end, "text": s.text} for s in segments]
        name = os.path.basename(rel) + "-tiny.en-vad.json"
        with open(os.path.join(out_dir, name), "w") as f:
            json.dump({"faster_whisper": "1.2.1", "file": rel, "duration": info.duration,
                       "duration_after_vad": info.duration_after_vad, "segments": segs}, f, indent=1)
            f.write("\n")
        print(f"{name}: {len(segs)} segments, {info.duration_after_vad:.2f} of {info.duration:.2f} s kept")


def main():
    if "--transcripts" in sys.argv:
        transcript_goldens(sys.argv[sys.argv.index("--transcripts") + 1])
        return
    model = get_vad_model()
    goldens = []
    for name, rel, keep in INPUTS:
        audio = load(name, rel, keep)
        # As get_speech_timestamps pads and calls the model.
        padded = np.pad(audio, (0, 512 - audio.shape[0] % 512))
        probs = model(padded).reshape(-1)
        stamps = {key: get_speech_timestamps(audio, VadOptions(**opts)) for key, opts in OPTION_SETS.items()}
        goldens.append({
            "name": name, "file": rel, "samples": int(audio.shape[0]),
            "probabilities": [round(float(p), 6) for p in probs],
            "timestamps": {k: [[int(s["start"]), int(s["end"])] for s in v] for k, v in stamps.items()},
        })
        print(f"{name}: {audio.shape[0]} samples, {len(probs)} windows, "
              + ", ".join(f"{k} {len(v)} chunks" for k, v in stamps.items()))
    out = {"faster_whisper": "1.2.1", "option_sets": OPTION_SETS, "inputs": goldens}
    with open(os.path.join(HERE, "Golden", "vad-goldens.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
