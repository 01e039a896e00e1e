#!/usr/bin/env python3
"""Writes a random-weight Whisper model of a real model's exact shape (large-v3-turbo by default;
also large-v3, distil-large-v3, medium and small), float16, with CTranslate2's own spec classes
(ctranslate2.specs.WhisperSpec, numpy, no torch), for the large-model cases of bench/bench.py.
Never committed: 0.5 to 3.1 GB, made on demand into a cache.

Shapes (width, heads, encoder and decoder layers, mel bins, vocabulary):
  large-v3         1280, 20, 32, 32, 128, v3 (51866, <|yue|> included): 1550 M parameters, 3.10 GB
  large-v3-turbo   1280, 20, 32, 4,  128, v3: 809 M parameters, 1.62 GB
  distil-large-v3  1280, 20, 32, 2,  128, v3: 756 M parameters, 1.51 GB
  medium           1024, 16, 24, 24, 80,  multilingual (51865): 764 M parameters, 1.53 GB
  small             768, 12, 12, 12, 80,  multilingual: 242 M parameters, 0.48 GB
all with feed-forward 4 x width, 1500 audio and 448 text positions. The folder holds what a
converted model holds: model.bin, config.json (language ids, suppress lists, alignment heads),
vocabulary.json, preprocessor_config.json (feature_size) and tokenizer.json (base's; for the v3
layout with <|yue|> added at 50358 and the later special tokens one id higher), without which
faster-whisper would fetch a tokenizer from the Hub.

Weights follow Tests/WhisperTests/make-random-models.py (the same tensor names, and the
same scales: uniform in [-1, 1) times 1/sqrt(fan-in) for weights, 0.1 for biases, 1 +-
0.1 for LayerNorm gains, 0.5 for embeddings and positions), so activations stay finite
through 32 layers; the values come from numpy's PCG64 seeded with the same seed, since
its per-value xorshift loop would take an hour at this size.

    /work/.venv-parity/bin/python bench/make-full-size-model.py [--shape NAME] [out-dir]
default out-dir: ~/.cache/dropscribe-bench/NAME-random. About 3 minutes and ~5 GB of memory
for the large shapes; a folder already complete (a `.complete` stamp) is left alone.
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
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "dropscribe-bench")
# name: width, heads, encoder layers, decoder layers, mel bins, vocabulary layout.
SHAPES = {
    "large-v3": (1280, 20, 32, 32, 128, "v3"),
    "large-v3-turbo": (1280, 20, 32, 4, 128, "v3"),
    "distil-large-v3": (1280, 20, 32, 2, 128, "v3"),
    "medium": (1024, 16, 24, 24, 80, "multilingual"),
    "small": (768, 12, 12, 12, 80, "multilingual"),
}
# large-v3-turbo's own alignment heads (layer, head); the other shapes get what CTranslate2's
# converter writes when a model names none: every head of the second half of the decoder.
TURBO_ALIGNMENT_HEADS = [[2, 4], [2, 11], [3, 3], [3, 6], [3, 11], [3, 14]]


def default_out(shape):
    return os.path.join(CACHE, f"{shape}-random")


def alignment_heads(shape, heads, decoder_layers):
    if shape == "large-v3-turbo":
        return TURBO_ALIGNMENT_HEADS
    return [[layer, head] for layer in range(decoder_layers // 2, decoder_layers) for head in range(heads)]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def base_tokenizer_json():
    with open(os.path.join(MODELS, "base", "tokenizer.json"), encoding="utf-8") as f:
        return json.load(f)


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
    args = sys.argv[1:]
    shape = "large-v3-turbo"
    if args[:1] == ["--shape"]:
        shape, args = args[1], args[2:]
    if shape not in SHAPES:
        sys.exit(f"unknown shape {shape!r}: expected one of {', '.join(SHAPES)}")
    width, heads, encoder_layers, decoder_layers, n_mels, layout = SHAPES[shape]
    out = args[0] if args else default_out(shape)
    if os.path.exists(os.path.join(out, ".complete")):
        print(out)
        return
    random_models = load("random_models", os.path.join(TESTS, "make-random-models.py"))
    goldens = load("random_goldens", os.path.join(TESTS, "make-random-model-goldens.py"))
    random_models.D_MODEL, random_models.HEADS, random_models.ENCODER_LAYERS = width, heads, encoder_layers
    tokens = random_models.vocabulary(layout)
    if layout == "v3":
        assert len(tokens) == 51866 and tokens[50358] == "<|yue|>"
    rng = np.random.default_rng(random_models.SEED)
    values = {}
    for name, tensor_shape, scale in random_models.tensors(decoder_layers, n_mels, len(tokens)):
        offset = np.float32(1 if name.endswith("/gamma") else 0)
        u = rng.random(int(np.prod(tensor_shape)), dtype=np.float32) * np.float32(2) - np.float32(1)
        values[name] = (offset + np.float32(scale) * u).astype(np.float16).reshape(tensor_shape)
    spec = random_models.build_spec(decoder_layers, values, tokens)
    del values
    spec.validate()
    spec.optimize(quantization="float16")
    os.makedirs(out, exist_ok=True)
    spec.save(out)
    config = goldens.config_json(tokens, layout)
    config["alignment_heads"] = alignment_heads(shape, heads, decoder_layers)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, sort_keys=True)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump({"feature_size": n_mels, "hop_length": 160, "n_fft": 400, "sampling_rate": 16000}, f)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(v3_tokenizer_json() if layout == "v3" else base_tokenizer_json(), f, ensure_ascii=False)
    open(os.path.join(out, ".complete"), "w").close()
    print(out)


if __name__ == "__main__":
    main()
