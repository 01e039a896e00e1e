#!/usr/bin/env python3
"""Generate the faster-whisper golden reference files for dropscribe's Whisper engine.

Development-time only: the Swift tests read the JSON files this writes and never run
Python. See README.md next to this file for the venv set-up and the schemas.

Usage (from the repository root):
  /work/.venv-fw/bin/python Tests/WhisperTests/Golden/make-golden.py \
      [--corpus .corpus] [--models models] [--only features,encoder,decode,language,longform,words,translate]

Everything runs with faster-whisper's documented setup
  WhisperModel(dir, device="cpu", compute_type="float32", cpu_threads=2)
and audio passed by path (faster_whisper.decode_audio, PyAV -> s16 mono 16 kHz).
"""
import argparse
import functools
import hashlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

CLIPS = ["clip-%02d.wav" % i for i in range(1, 41)]
# A real human recording (Debian alsa-utils' speaker-test prompts, see make-corpus.sh):
# decoded and featurised like the clips, kept after them in every file.
REAL = ["real/alsa-voice.wav"]
ENCODER_CLIPS_TINY = CLIPS[:10]
ENCODER_CLIPS_BASE = CLIPS[:3]
ENCODER_ROWS = [0, 1, 100, 750, 1499]
ENCODER_COLS = 16
LONG_FILE = "long/long-10min.flac"


# --------------------------------------------------------------------------- json
def _num(x):
    """float -> value with ~8 significant digits (shortest repr of the rounded value)."""
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return repr(x)  # not valid JSON numbers; never expected
    return float("%.8g" % x)


def _clean(o):
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.ndarray):
        return [_clean(v) for v in o.tolist()]
    if isinstance(o, (bool, np.bool_)):
        return bool(o)
    if isinstance(o, (int, np.integer)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        return _num(o)
    return o


def _dump(o, indent=0):
    """Readable but compact: dicts are indented, lists of scalars stay on one line."""
    pad = "  " * indent
    if isinstance(o, dict):
        if not o:
            return "{}"
        items = [
            "%s  %s: %s" % (pad, json.dumps(k, ensure_ascii=False), _dump(v, indent + 1))
            for k, v in o.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(o, list):
        if all(not isinstance(v, (dict, list)) for v in o):
            return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in o) + "]"
        items = ["%s  %s" % (pad, _dump(v, indent + 1)) for v in o]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(o, ensure_ascii=False)


def write_json(path, obj, quiet=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(_dump(_clean(obj)) + "\n")
    os.replace(path + ".tmp", path)
    if not quiet:
        print("wrote %s (%d bytes)" % (os.path.relpath(path, REPO), os.path.getsize(path)), flush=True)


# --------------------------------------------------------------------------- helpers
def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def versions():
    import av
    import ctranslate2
    import faster_whisper
    import tokenizers

    return {
        "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__,
        "numpy": np.__version__,
        "av (PyAV)": av.__version__,
        "ffmpeg_libs (PyAV)": {k: "%d.%d.%d" % v for k, v in av.library_versions.items()},
        "tokenizers": tokenizers.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


@functools.lru_cache(maxsize=None)
def model_info(models_dir, name):
    d = os.path.join(models_dir, name)
    return {
        "name": name,
        "model.bin sha256": sha256(os.path.join(d, "model.bin")),
        "setup": 'WhisperModel(dir, device="cpu", compute_type="float32", cpu_threads=2)',
    }


def load_model(models_dir, name):
    from faster_whisper import WhisperModel

    return WhisperModel(
        os.path.join(models_dir, name), device="cpu", compute_type="float32", cpu_threads=2
    )


def input_entry(corpus, rel):
    return {"file": rel, "sha256": sha256(os.path.join(corpus, rel))}


def features_with_G(fe, audio):
    """faster_whisper.FeatureExtractor.__call__ split open to expose G (same code path).

    Returns (features, G) and asserts the result is bit-identical to fe(audio)."""
    wave = audio.astype(np.float32) if audio.dtype is not np.float32 else audio
    wave = np.pad(wave, (0, 160))
    window = np.hanning(fe.n_fft + 1)[:-1].astype("float32")
    stft = fe.stft(wave, fe.n_fft, fe.hop_length, window=window, return_complex=True).astype(
        "complex64"
    )
    mag = np.abs(stft[..., :-1]) ** 2
    del stft
    mel = fe.mel_filters @ mag
    del mag
    log_spec = np.log10(np.clip(mel, a_min=1e-10, a_max=None))
    del mel
    G = float(log_spec.max())
    log_spec = np.maximum(log_spec, G - 8.0)
    log_spec = (log_spec + 4.0) / 4.0
    ref = fe(audio)
    assert ref.shape == log_spec.shape and np.array_equal(ref, log_spec), "G path diverged"
    return ref, G


class GenerateRecorder:
    """Stands in for WhisperModel.model (ctranslate2.models.Whisper) and records every
    generate() call: its exact arguments (besides the encoder output) and raw result."""

    def __init__(self, inner):
        self._inner = inner
        self.calls = []

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def generate(self, encoder_output, prompts, **kwargs):
        results = self._inner.generate(encoder_output, prompts, **kwargs)
        r = results[0]
        self.calls.append(
            {
                "prompt": list(prompts[0]),
                "kwargs": {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in kwargs.items()},
                "sequences_ids": [list(s) for s in r.sequences_ids],
                "scores": list(r.scores),
                "no_speech_prob": r.no_speech_prob,
            }
        )
        return results


def install_recorders(model):
    rec = GenerateRecorder(model.model)
    model.model = rec
    windows = []
    orig = model.generate_with_fallback

    def wrapped(encoder_output, prompt, tokenizer, options):
        first = len(rec.calls)
        out = orig(encoder_output, prompt, tokenizer, options)
        result, avg_logprob, temperature, compression_ratio = out
        windows.append(
            {
                "prompt": list(prompt),
                "tokens": list(result.sequences_ids[0]),
                "score": result.scores[0],
                "avg_logprob": avg_logprob,
                "no_speech_prob": result.no_speech_prob,
                "compression_ratio": compression_ratio,
                "temperature": temperature,
                "text": tokenizer.decode(list(result.sequences_ids[0])),
                "generate_calls": len(rec.calls) - first,
            }
        )
        return out

    model.generate_with_fallback = wrapped
    return rec, windows


def segment_dict(s, with_words=False):
    d = {
        "id": s.id,
        "seek": s.seek,
        "start": s.start,
        "end": s.end,
        "text": s.text,
        "tokens": list(s.tokens),
        "avg_logprob": s.avg_logprob,
        "compression_ratio": s.compression_ratio,
        "no_speech_prob": s.no_speech_prob,
        "temperature": s.temperature,
    }
    if with_words:
        d["words"] = [
            {"start": w.start, "end": w.end, "word": w.word, "probability": w.probability}
            for w in (s.words or [])
        ]
    return d


# --------------------------------------------------------------------------- 1. features
def feature_columns(feats, frames):
    return {str(t): feats[:, t] for t in frames}


def make_features(args):
    from faster_whisper import decode_audio
    from faster_whisper.feature_extractor import FeatureExtractor

    fe = FeatureExtractor()  # 80 mels: the models have no preprocessor_config.json
    out = {
        "description": "faster-whisper FeatureExtractor output (80 x n_frames, after clamp and "
        "(l+4)/4) for audio read by faster_whisper.decode_audio; see README.md",
        "versions": versions(),
        "mel_filters": {
            "sum": float(fe.mel_filters.astype(np.float64).sum()),
            "max": float(fe.mel_filters.max()),
        },
        "clips": [],
    }

    def one(rel, extra_frames=()):
        path = os.path.join(args.corpus, rel)
        audio = decode_audio(path, sampling_rate=16000)
        feats, G = features_with_G(fe, audio)
        n = audio.shape[0]
        nf = feats.shape[1]
        content = nf - 1
        assert nf == n // 160 + 1
        frames = sorted(set([0, 1, 100, nf // 2, nf - 2, nf - 1] + list(extra_frames)))
        frames = [t for t in frames if 0 <= t < nf]
        seg = min(3000, content)
        win = np.pad(feats[:, :seg], ((0, 0), (0, 3000 - seg))) if seg < 3000 else feats[:, :3000]
        e = input_entry(args.corpus, rel)
        e.update(
            {
                "n_samples": n,
                "n_frames": nf,
                "content_frames": content,
                "G": G,
                "floor": float((np.float32(G) - np.float32(8.0) + np.float32(4.0)) / np.float32(4.0)),
                "max": float(feats.max()),
                "min": float(feats.min()),
                "sum": float(feats.astype(np.float64).sum()),
                "frames": feature_columns(feats, frames),
                "window0": {
                    "segment_size": seg,
                    "pad_value": 0.0,
                    "sum": float(win.astype(np.float64).sum()),
                    "frames": feature_columns(win, sorted(set([0, seg - 1, min(seg, 2999), 2999]))),
                },
            }
        )
        print("  features %s: %d frames, G=%.6f" % (rel, nf, G), flush=True)
        return e

    for c in CLIPS:
        out["clips"].append(one("clips/" + c))
    for rel in REAL:
        if os.path.exists(os.path.join(args.corpus, rel)):
            out["clips"].append(one(rel))
    out["long"] = one(LONG_FILE, extra_frames=[2999, 3000, 30000, 30001, 30002, 30003])
    write_json(os.path.join(args.out, "features.json"), out)


# --------------------------------------------------------------------------- 2. encoder
def make_encoder(args):
    from faster_whisper import decode_audio
    from faster_whisper.audio import pad_or_trim

    out = {
        "description": "encoder output of window 0 (seek 0): model.encode(pad_or_trim("
        "features[:, 0:min(3000, n_frames-1)])), i.e. log-mel columns right-padded with 0.0 "
        "to 3000; rows = encoder time steps (of 1500), first 16 of D values",
        "versions": versions(),
        "rows": ENCODER_ROWS,
        "models": {},
    }
    for name, clips in (("tiny.en", ENCODER_CLIPS_TINY), ("base", ENCODER_CLIPS_BASE)):
        model = load_model(args.models, name)
        entries = []
        for c in clips:
            rel = "clips/" + c
            audio = decode_audio(os.path.join(args.corpus, rel), sampling_rate=16000)
            feats = model.feature_extractor(audio)
            seg = min(3000, feats.shape[1] - 1)
            window = pad_or_trim(feats[:, :seg])
            enc = np.array(model.encode(window))[0]  # (1500, D) float32
            e = input_entry(args.corpus, rel)
            e.update(
                {
                    "segment_size": seg,
                    "shape": list(enc.shape),
                    "mean": float(enc.astype(np.float64).mean()),
                    "std": float(enc.astype(np.float64).std()),
                    "rows": {str(r): enc[r, :ENCODER_COLS] for r in ENCODER_ROWS},
                }
            )
            entries.append(e)
            print("  encoder %s %s: mean %.7f std %.7f" % (name, c, e["mean"], e["std"]), flush=True)
        out["models"][name] = {"model": model_info(args.models, name), "clips": entries}
        del model
    write_json(os.path.join(args.out, "encoder.json"), out)


# --------------------------------------------------------------------------- 3/4. decode, language
def transcribe_recorded(model, path, **kw):
    rec, windows = install_recorders(model)
    try:
        t0 = time.perf_counter()
        segments, info = model.transcribe(path, **kw)
        segs = list(segments)
        wall = time.perf_counter() - t0
    finally:
        model.model = rec._inner
        del model.generate_with_fallback  # back to the class method
    return segs, info, rec.calls, windows, wall


def make_decode(args, name):
    model = load_model(args.models, name)
    tok_kw = None
    clips_out = []
    language = []
    previous = {}
    prev_lang = {}
    prev_path = os.path.join(args.out, "decode-%s.json" % name)
    if args.resume and os.path.exists(prev_path):
        with open(prev_path, encoding="utf-8") as f:
            prev = json.load(f)
        if prev["model"]["model.bin sha256"] == model_info(args.models, name)["model.bin sha256"]:
            previous = {c["file"]: c for c in prev["clips"]}
            tok_kw = prev["generate_kwargs"]
        lang_path = os.path.join(args.out, "language-%s.json" % name)
        if os.path.exists(lang_path):
            with open(lang_path, encoding="utf-8") as f:
                prev_lang = {c["file"]: c for c in json.load(f)["clips"]}
    wanted = ["clips/" + c for c in CLIPS[: args.decode_clips]]
    wanted += [r for r in REAL if os.path.exists(os.path.join(args.corpus, r))]
    for rel in wanted:
        c = os.path.basename(rel)
        path = os.path.join(args.corpus, rel)
        e = input_entry(args.corpus, rel)
        old = previous.get(rel)
        if old is not None and old["sha256"] == e["sha256"] and "greedy" in old:
            clips_out.append(old)
            if rel in prev_lang:
                language.append(prev_lang[rel])
            print("  decode %s %s: kept from the previous run (--resume)" % (name, c), flush=True)
            continue
        detected = None
        for beam in (5, 1):
            # A multilingual model detects the language in the beam-5 run; the greedy run
            # reuses that result (language=<detected>) instead of detecting it again: same
            # prompt and tokens as language=None, one encoder pass less.
            segs, info, calls, windows, wall = transcribe_recorded(
                model, path, beam_size=beam, temperature=0.0, condition_on_previous_text=True,
                language=detected,
            )
            if beam == 5 and info.all_language_probs:
                detected = info.language
            w0 = calls[0]
            kw = dict(w0["kwargs"])
            if tok_kw is None:
                tok_kw = {}
            tok_kw["beam%d" % beam] = kw
            key = "beam5" if beam == 5 else "greedy"
            e[key] = {
                "window0": {
                    "prompt": w0["prompt"],
                    "tokens": w0["sequences_ids"][0],
                    "score": w0["scores"][0],
                    "avg_logprob": windows[0]["avg_logprob"],
                    "no_speech_prob": w0["no_speech_prob"],
                    "compression_ratio": windows[0]["compression_ratio"],
                    "text": windows[0]["text"],
                },
                "windows": len(windows),
                "language": info.language,
                "language_probability": info.language_probability,
                "language_given": detected is not None and beam == 1,
                "segments": [segment_dict(s) for s in segs],
            }
            if len(windows) > 1:
                e[key]["later_windows"] = [
                    {k: w[k] for k in ("prompt", "tokens", "avg_logprob", "no_speech_prob",
                                       "compression_ratio", "temperature", "text")}
                    for w in windows[1:]
                ]
            if beam == 5 and info.all_language_probs:
                language.append(
                    {
                        "file": rel,
                        "sha256": e["sha256"],
                        "language": info.language,
                        "language_probability": info.language_probability,
                        "top5": [[l, p] for l, p in info.all_language_probs[:5]],
                    }
                )
            print("  decode %s %s beam %d: %s (%.2fs)" % (
                name, c, beam, " | ".join(s.text for s in segs)[:90], wall), flush=True)
        clips_out.append(e)
        write_decode(args, name, tok_kw, clips_out, language)
    del model


def write_decode(args, name, tok_kw, clips_out, language):
    """Written after every clip, so that an interrupted run still leaves usable goldens."""
    out = {
        "description": "faster-whisper transcribe(path, beam_size=B, temperature=0.0, "
        "condition_on_previous_text=True, other options default) per clip; window0 = the raw "
        "ctranslate2 generate() result for the first window, exactly as transcribe called it",
        "versions": versions(),
        "model": model_info(args.models, name),
        "generate_kwargs": tok_kw,
        "clips": clips_out,
    }
    write_json(os.path.join(args.out, "decode-%s.json" % name), out)
    if language:
        lang_out = {
            "description": "language detection of transcribe() (language=None) on the base model: "
            "encoder(pad_or_trim(features[:, 0:3000])) over all n_frames (incl. the final frame), "
            "then ctranslate2 detect_language; top-5 of the softmax over lang_ids",
            "versions": versions(),
            "model": model_info(args.models, name),
            "clips": language,
        }
        write_json(os.path.join(args.out, "language-%s.json" % name), lang_out)


# --------------------------------------------------------------------------- 5. long form
def longform_worker(args):
    """Runs in its own process so that wall time and peak RSS are those of one transcription."""
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    model = load_model(args.models, "tiny.en")
    t_load = time.perf_counter() - t0
    path = os.path.join(args.corpus, LONG_FILE)
    words = args.longform_worker == "words"
    t1 = time.perf_counter()
    c1 = time.process_time()
    segments, info = model.transcribe(path, beam_size=5, word_timestamps=words)
    segs = list(segments)
    wall = time.perf_counter() - t1
    cpu = time.process_time() - c1
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "options": {"beam_size": 5, "word_timestamps": words, "other": "faster-whisper defaults "
                    "(temperature fallback 0.0..1.0, condition_on_previous_text, ...)"},
        "language": info.language,
        "language_probability": info.language_probability,
        "duration": info.duration,
        "resources": {
            "model_load_s": t_load,
            "transcribe_wall_s": wall,
            "transcribe_cpu_s": cpu,
            "peak_rss_mib": ru.ru_maxrss / 1024.0,
            "loadavg_before": list(load_before),
            "loadavg_after": list(os.getloadavg()),
            "note": "wall time includes decode_audio and features; 2 shared cores, other jobs "
            "were running (see loadavg), so treat timings as indicative",
        },
        "segments": [segment_dict(s, with_words=words) for s in segs],
    }
    with open(args.worker_out, "w", encoding="utf-8") as f:
        json.dump(out, f)


def make_longform(args):
    modes = ("plain", "words") if args.longform_modes == "both" else (args.longform_modes,)
    for mode in modes:
        with tempfile.TemporaryDirectory() as td:
            wout = os.path.join(td, "out.json")
            cmd = [sys.executable, os.path.abspath(__file__), "--corpus", args.corpus,
                   "--models", args.models, "--longform-worker", mode, "--worker-out", wout]
            print("  longform %s: running %s" % (mode, " ".join(cmd[-4:])), flush=True)
            subprocess.run(cmd, check=True)
            with open(wout, encoding="utf-8") as f:
                res = json.load(f)
            # keep the raw worker result next to the process so a failure below loses nothing
            keep = os.path.join(tempfile.gettempdir(), "golden-longform-%s.json" % mode)
            with open(keep, "w", encoding="utf-8") as f:
                json.dump(res, f)
        finish_longform(args, mode, res)


def finish_longform(args, mode, res):
    """WER + metadata around a worker result, then write the golden.
    Also usable alone: --longform-result MODE=PATH (a saved worker output)."""
    outdir = os.path.join(REPO, "Tests", "Golden", "longform")
    wer_py = os.path.join(REPO, "Tests", "Corpus", "wer.py")
    ref = os.path.join(args.corpus, "long", "long-10min.txt")
    with tempfile.TemporaryDirectory() as td:
        hyp = os.path.join(td, "hyp.txt")
        with open(hyp, "w", encoding="utf-8") as f:
            f.write(" ".join(s["text"].strip() for s in res["segments"]) + "\n")
        wer = subprocess.run([sys.executable, wer_py, ref, hyp, "--json"], check=True,
                             capture_output=True, text=True).stdout
    wer = json.loads(wer)
    doc = {
        "description": "faster-whisper transcribe(long/long-10min.flac), tiny.en float32, "
        "beam 5, default options" + (", word_timestamps=True" if mode == "words" else ""),
        "versions": versions(),
        "model": model_info(args.models, "tiny.en"),
        "input": input_entry(args.corpus, LONG_FILE),
        "reference": input_entry(args.corpus, "long/long-10min.txt"),
        "wer": {"tool": "Tests/Corpus/wer.py REF HYP --json (hyp = segment texts, stripped, "
                "joined by spaces)", "result": wer},
    }
    doc.update(res)
    name = "long-10min-tiny.en%s.json" % ("-words" if mode == "words" else "")
    write_json(os.path.join(outdir, name), doc)
    print("  longform %s: %d segments, wall %.1fs, rss %.0f MiB, WER %s" % (
        mode, len(res["segments"]), res["resources"]["transcribe_wall_s"],
        res["resources"]["peak_rss_mib"], wer.get("wer")), flush=True)


# --------------------------------------------------------------------------- 6. word timestamps on short files
WORD_FILES = REAL + ["clips/clip-03.wav", "clips/clip-07.wav"]
HOTWORDS = "Dropscribe, Kubernetes, OpenBLAS"


def make_words(args):
    """faster-whisper with word_timestamps=True (beam 5, defaults) on the real recording and
    two clips, with tiny.en and base: words-short.json in the golden folder."""
    out = {"description": "faster-whisper transcribe(path, beam_size=5, word_timestamps=True), float32, "
           "default options", "versions": versions(), "runs": []}
    for name in ("tiny.en", "base"):
        model = load_model(args.models, name)
        for rel in WORD_FILES:
            segments, info = model.transcribe(os.path.join(args.corpus, rel), beam_size=5, word_timestamps=True)
            segs = [segment_dict(s, with_words=True) for s in segments]
            out["runs"].append({"model": model_info(args.models, name), "input": input_entry(args.corpus, rel),
                                "language": info.language, "segments": segs})
            print("  words %s %s: %d segments, %d words" % (name, rel, len(segs),
                  sum(len(s["words"]) for s in segs)), flush=True)
        # hotwords go into every window's prompt (after <|startofprev|>)
        rel = WORD_FILES[1]
        segments, info = model.transcribe(os.path.join(args.corpus, rel), beam_size=5, word_timestamps=True,
                                          hotwords=HOTWORDS)
        segs = [segment_dict(s, with_words=True) for s in segments]
        out["runs"].append({"model": model_info(args.models, name), "input": input_entry(args.corpus, rel),
                            "language": info.language, "hotwords": HOTWORDS, "segments": segs})
    write_json(os.path.join(args.out, "words-short.json"), out)


# --------------------------------------------------------------------------- 7. multilingual: detection and translate
ML_FILES = [("multilingual/german-weather.wav", "de"), ("multilingual/spanish-train.wav", "es")]


def make_translate(args):
    """base on the non-English clips: language detection, then task transcribe and translate
    with the language given (beam 5, temperature 0 only: the fallback samples with CT2's RNG,
    which no other program reproduces): translate-base.json in the golden folder."""
    model = load_model(args.models, "base")
    out = {"description": "faster-whisper base float32: transcribe(path, beam_size=5) for detection, then "
           "transcribe(path, beam_size=5, language=L, task=T, temperature=0) for T in transcribe, translate",
           "versions": versions(), "model": model_info(args.models, "base"), "clips": []}
    for rel, lang in ML_FILES:
        path = os.path.join(args.corpus, rel)
        _, info = model.transcribe(path, beam_size=5)
        entry = {"input": input_entry(args.corpus, rel), "reference_language": lang,
                 "detected": {"language": info.language, "probability": info.language_probability}}
        for task in ("transcribe", "translate"):
            segments, _ = model.transcribe(path, beam_size=5, language=lang, task=task, temperature=0)
            entry[task] = [segment_dict(s) for s in segments]
            print("  %s %s: %s" % (rel, task, " | ".join(s["text"] for s in entry[task])), flush=True)
        out["clips"].append(entry)
    write_json(os.path.join(args.out, "translate-base.json"), out)


# --------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(REPO, ".corpus"))
    ap.add_argument("--models", default=os.path.join(REPO, "models"))
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--only", default="features,encoder,decode,language,longform,words,translate",
                    help="comma list of: features, encoder, decode (both models; language "
                    "comes with base), decode-tiny, decode-base, longform, words, translate")
    ap.add_argument("--decode-clips", type=int, default=len(CLIPS),
                    help="decode only the first N clips (default all 40)")
    ap.add_argument("--resume", action="store_true",
                    help="keep clips already present in decode-*.json (same model, same sha256)")
    ap.add_argument("--longform-modes", choices=["both", "plain", "words"], default="both",
                    help="which long-form runs to make (default both)")
    ap.add_argument("--longform-result", metavar="MODE=PATH",
                    help="only finish a long-form golden from a saved worker output")
    ap.add_argument("--longform-worker", choices=["plain", "words"], help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.corpus = os.path.abspath(args.corpus)
    args.models = os.path.abspath(args.models)

    if args.longform_worker:
        longform_worker(args)
        return

    if args.longform_result:
        mode, path = args.longform_result.split("=", 1)
        with open(path, encoding="utf-8") as f:
            finish_longform(args, mode, json.load(f))
        return

    only = set(args.only.split(","))
    t0 = time.perf_counter()
    if "features" in only:
        make_features(args)
    if "encoder" in only:
        make_encoder(args)
    if "decode" in only or "decode-tiny" in only:
        make_decode(args, "tiny.en")
    if "decode" in only or "language" in only or "decode-base" in only:
        make_decode(args, "base")
    if "longform" in only:
        make_longform(args)
    if "words" in only:
        make_words(args)
    if "translate" in only:
        make_translate(args)
    print("done in %.1fs" % (time.perf_counter() - t0))


if __name__ == "__main__":
    main()
