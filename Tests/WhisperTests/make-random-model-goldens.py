#!/usr/bin/env python3
"""Runs CTranslate2 (the engine under faster-whisper) on every random-weight model of
make-random-models.py (five shapes x four storages) and writes what it computes for one
window of a corpus clip to Golden/random-models-ct2.json: encoder output rows, language
probabilities over all of the model's languages, greedy and beam-5 tokens with the first
steps' processed logits, and the token alignment through the alignment heads.
RandomModelParityTests compares dropscribe's engine with it.

Not a test-time dependency. To run it (about a minute):
    python3 -m venv .venv-parity && .venv-parity/bin/pip install ctranslate2==4.8.5 numpy==2.4.6 faster-whisper==1.2.1
    .venv-parity/bin/python Tests/WhisperTests/make-random-model-goldens.py
Features come from faster-whisper's FeatureExtractor on the 16-bit WAV's samples (no
decoder in between, so both sides see the same samples). The models are loaded with
compute_type="float32": CTranslate2 then widens float16 and int8 weights to float32 at
load, which is what dropscribe's loader does for these storages.
"""

import importlib.util
import json
import os
import sys
import tempfile
import wave

import ctranslate2
import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor
from faster_whisper.tokenizer import _LANGUAGE_CODES

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
CORPUS = os.environ.get("DROPSCRIBE_CORPUS", os.path.join(ROOT, ".corpus"))
MODELS = os.environ.get("DROPSCRIBE_MODELS", os.path.join(ROOT, "models"))
CLIP = "clips/clip-21.wav"
ENCODER_ROWS = [0, 1, 2, 749, 1499]
LOGIT_STEPS, TOP = 3, 16
ALIGNED_TOKENS = 24
# generate's max_length: CTranslate2 stops after min(max_length / 2, max_length - start_step) new
# tokens (src/models/whisper.cc); 40 exercises the timestamp rules, the beams and repetition,
# where faster-whisper's 448 would only cost test time.
MAX_LENGTH = 40

_spec = importlib.util.spec_from_file_location("random_models", os.path.join(HERE, "make-random-models.py"))
random_models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(random_models)


def r6(x):
    return float("%.6g" % x)


def config_json(tokens, layout):
    """config.json as RandomModelWriter writes it (the converter takes these from the HF model)."""
    source = "tiny.en" if layout == "english" else "base"
    with open(os.path.join(MODELS, source, "config.json")) as f:
        base = json.load(f)
    suppress = base["suppress_ids"]
    if layout == "v3":
        suppress = [i + 1 if i > 50357 else i for i in suppress]
    lang_ids = [tokens.index("<|%s|>" % c) for c in _LANGUAGE_CODES if "<|%s|>" % c in tokens]
    return {"alignment_heads": [[1, 0]], "lang_ids": lang_ids, "suppress_ids": suppress,
            "suppress_ids_begin": base["suppress_ids_begin"]}


def window(n_mels):
    with wave.open(os.path.join(CORPUS, CLIP)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    features = FeatureExtractor(feature_size=n_mels)(pcm.astype(np.float32) / 32768.0)
    frames = min(3000, features.shape[1])
    padded = np.zeros((n_mels, 3000), dtype=np.float32)
    padded[:, :frames] = features[:, :frames]
    return padded, frames


def top_logits(row):
    order = np.argsort(-row, kind="stable")[:TOP]
    return [[int(i), r6(row[i])] for i in order if row[i] > -1e30]


def run(model_dir, tokens, layout, n_mels):
    model = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type="float32", intra_threads=1)
    features, frames = window(n_mels)
    encoded = model.encode(ctranslate2.StorageView.from_array(features[None]), to_cpu=True)
    e = np.array(encoded)[0]
    out = {"encoder": {"rows": ENCODER_ROWS, "values": [r6(v) for r in ENCODER_ROWS for v in e[r]],
                       "max_abs": r6(np.abs(e).max())}}
    sot = [tokens.index("<|startoftranscript|>")]
    if layout != "english":
        out["language"] = [[t[2:-2], r6(p)] for t, p in model.detect_language(encoded)[0]]
        sot += [tokens.index("<|en|>"), tokens.index("<|transcribe|>")]
    out["prompt"] = sot
    greedy = model.generate(encoded, [sot], beam_size=1, max_length=MAX_LENGTH, return_scores=True, return_logits_vocab=True,
                            return_no_speech_prob=True)[0]
    logits = np.array(greedy.logits[0])
    out["greedy"] = {"tokens": greedy.sequences_ids[0], "score": r6(greedy.scores[0]),
                     "no_speech_prob": r6(greedy.no_speech_prob),
                     "logits": [top_logits(logits[s]) for s in range(min(LOGIT_STEPS, len(logits)))]}
    beam = model.generate(encoded, [sot], beam_size=5, max_length=MAX_LENGTH, return_scores=True)[0]
    out["beam5"] = {"tokens": beam.sequences_ids[0], "score": r6(beam.scores[0])}
    eot = tokens.index("<|endoftext|>")
    text = [t for t in greedy.sequences_ids[0] if t < eot][:ALIGNED_TOKENS]
    aligned = model.align(encoded, sot, [text], [frames], median_filter_width=7)[0]
    out["alignment"] = {"frames": frames, "text_tokens": text,
                        "text_token_probs": [r6(p) for p in aligned.text_token_probs],
                        "pairs": [list(p) for p in aligned.alignments]}
    return out


def main():
    goldens = {"ctranslate2": ctranslate2.__version__, "clip": CLIP, "max_length": MAX_LENGTH, "models": []}
    for name, n_mels, layout, decoder_layers in random_models.SHAPES:
        tokens = random_models.vocabulary(layout)
        values = random_models.draw(decoder_layers, n_mels, len(tokens))
        for storage in random_models.STORAGES:
            with tempfile.TemporaryDirectory() as out:
                spec = random_models.build_spec(decoder_layers, values, tokens)
                spec.validate()
                spec.optimize(quantization=storage)
                spec.save(out)
                with open(os.path.join(out, "config.json"), "w") as f:
                    json.dump(config_json(tokens, layout), f, sort_keys=True)
                entry = {"shape": name, "storage": storage}
                entry.update(run(out, tokens, layout, n_mels))
                goldens["models"].append(entry)
                print(name, storage, len(entry["greedy"]["tokens"]), "greedy tokens", flush=True)
    with open(os.path.join(HERE, "Golden", "random-models-ct2.json"), "w") as f:
        json.dump(goldens, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
