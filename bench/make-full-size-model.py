#!/usr/bin/env python3
"""Writes a random-weight Whisper model of the exact large-v3-turbo shape, float16, with
CTranslate2's own spec classes (ctranslate2.specs.WhisperSpec, numpy, no torch), for the
`turbo-*` cases of bench/bench.py. Never committed: 1.6 GB, made on demand into a cache.

Shape: 128 mel bins, vocabulary 51866 (<|yue|> included, the v3 layout), width 1280, 20
heads, 32 encoder and 4 decoder layers, feed-forward 5120, 1500 audio and 448 text
positions: 809 M parameters, model.bin 1.62 GB. The folder holds what a converted turbo
holds: model.bin, config.json (language ids, suppress lists, alignment heads),
vocabulary.json, preprocessor_config.json (feature_size 128) and tokenizer.json (base's,
with <|yue|> added at 50358 and the later special tokens one id higher), without which
faster-whisper would fetch a tokenizer from the Hub.

Weights follow Tests/WhisperTests/make-random-models.py (the same tensor names, and the
same scales: uniform in [-1, 1) times 1/sqrt(fan-in) for weights, 0.1 for biases, 1 +-
0.1 for LayerNorm gains, 0.5 for embeddings and positions), so activations stay finite
through 32 layers; the values come from numpy's PCG64 seeded with the same seed, since
its per-value xorshift loop would take an hour at this size.

    /work/.venv-parity/bin/python bench/make-full-size-model.py [out-dir]
default out-dir: ~/.cache/dropscribe-bench/large-v3-turbo-random. About 3 minutes and
~5 GB of memory; a folder already complete (a `.complete` stamp) is left alone.
"""

import importlib.util
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TESTS = os.path.join(ROOT, "Tests", "WhisperTests")
MODELS = os.environ.get("DROPSCRIBE_MODELS", os.path.join(ROOT, "models"))
DEFAULT_OUT = os.path.join(os.path.expanduser("~"), ".cache", "dropscribe-bench", "large-v3-turbo-random")
D_MODEL, HEADS, ENCODER_LAYERS, DECODER_LAYERS, N_MELS = 1280, 20, 32, 4, 128
# large-v3-turbo's own alignment heads (layer, head).
ALIGNMENT_HEADS = [[2, 4], [2, 11], [3, 3], [3, 6], [3, 11], [3, 14]]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def v3_tokenizer_json():
    """base's tokenizer.json in the v3 layout: <|yue|> at 50358, later specials shifted by one."""
    with open(os.path.join(MODELS, "base", "tokenizer.json"), encoding="utf-8") as f:
        t = json.load(f)
    added = []
    for tok in t["added_tokens"]:
        if tok["id"] >= 50358:
            tok = dict(tok, id=tok["id"] + 1)
        added.append(tok)
        if tok["content"] == "<|su|>":
            added.append(dict(tok, id=50358, content="<|yue|>"))
    t["added_tokens"] = sorted(added, key=lambda x: x["id"])
    for special in t["post_processor"]["special_tokens"].values():
        special["ids"] = [i + 1 if i >= 50358 else i for i in special["ids"]]
    return t


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    if os.path.exists(os.path.join(out, ".complete")):
        print(out)
        return
    random_models = load("random_models", os.path.join(TESTS, "make-random-models.py"))
    goldens = load("random_goldens", os.path.join(TESTS, "make-random-model-goldens.py"))
    random_models.D_MODEL, random_models.HEADS, random_models.ENCODER_LAYERS = D_MODEL, HEADS, ENCODER_LAYERS
    tokens = random_models.vocabulary("v3")
    assert len(tokens) == 51866 and tokens[50358] == "<|yue|>"
    rng = np.random.default_rng(random_models.SEED)
    values = {}
    for name, shape, scale in random_models.tensors(DECODER_LAYERS, N_MELS, len(tokens)):
        offset = np.float32(1 if name.endswith("/gamma") else 0)
        u = rng.random(int(np.prod(shape)), dtype=np.float32) * np.float32(2) - np.float32(1)
        values[name] = (offset + np.float32(scale) * u).astype(np.float16).reshape(shape)
    spec = random_models.build_spec(DECODER_LAYERS, values, tokens)
    del values
    spec.validate()
    spec.optimize(quantization="float16")
    os.makedirs(out, exist_ok=True)
    spec.save(out)
    config = goldens.config_json(tokens, "v3")
    config["alignment_heads"] = ALIGNMENT_HEADS
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, sort_keys=True)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump({"feature_size": N_MELS, "hop_length": 160, "n_fft": 400, "sampling_rate": 16000}, f)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(v3_tokenizer_json(), f, ensure_ascii=False)
    open(os.path.join(out, ".complete"), "w").close()
    print(out)


if __name__ == "__main__":
    main()
