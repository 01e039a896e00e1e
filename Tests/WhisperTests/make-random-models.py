#!/usr/bin/env python3
"""Writes the random-weight Whisper models of RandomModels.swift with CTranslate2's own
spec classes (ctranslate2.specs.WhisperSpec, numpy, no torch) and records each
model.bin's sha256 in random-models.sha256 beside this script; ModelFamilyTests checks
that the Swift writer produces the same bytes, so the test models are what the
converter writes.

Not a test-time dependency. To run it:
    python3 -m venv .venv-models && .venv-models/bin/pip install ctranslate2 numpy
    .venv-models/bin/python Tests/WhisperTests/make-random-models.py [cache-dir]
The vocabularies come from the tiny.en and base models ($DROPSCRIBE_MODELS or ./models).
random-models.sha256 was written with ctranslate2 4.8.5 and numpy 2.4.6; a later
ctranslate2 that adds a spec attribute changes every digest (and RandomModelWriter.scalars
must follow it).
"""

import hashlib
import os
import re
import sys

import numpy as np
from ctranslate2.specs import whisper_spec

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.environ.get("DROPSCRIBE_MODELS", os.path.join(HERE, "..", "..", "models"))
SEED = 17

# name, mel bins, vocabulary layout, decoder layers (RandomModelShape)
SHAPES = [
    ("large-v3", 128, "v3", 3),
    ("large-v3-turbo", 128, "v3", 4),
    ("distil-large-v3", 128, "v3", 2),
    ("small/medium", 80, "multilingual", 2),
    ("small.en/medium.en", 80, "english", 2),
]
STORAGES = ["float32", "float16", "int8_float32", "int8_float16"]
D_MODEL, HEADS, ENCODER_LAYERS = 64, 2, 2
MASK = (1 << 64) - 1


class XorShift64Star:
    """Vigna's xorshift64*; uniform() is (top 24 bits / 2^23) - 1, exact in float32."""

    def __init__(self, seed):
        self.state = seed or 1

    def next(self):
        s = self.state
        s ^= s >> 12
        s ^= (s << 25) & MASK
        s ^= s >> 27
        self.state = s
        return (s * 0x2545F4914F6CDD1D) & MASK

    def uniform(self, n):
        out = np.empty(n, dtype=np.float32)
        for i in range(n):
            out[i] = (self.next() >> 40) / 8388608.0 - 1.0
        return out


def vocabulary(layout):
    def read(name):
        with open(os.path.join(MODELS, name, "vocabulary.txt"), encoding="utf-8") as f:
            text = f.read()
        tokens = text.split("\n")
        if text.endswith("\n"):
            tokens.pop()
        return tokens

    if layout == "english":
        return read("tiny.en")
    tokens = read("base")
    if layout == "v3":
        tokens.insert(tokens.index("<|su|>") + 1, "<|yue|>")
    return tokens


def tensors(decoder_layers, n_mels, vocab_size):
    """(name, shape, scale) of every float tensor, sorted by name, as RandomModelWriter.tensors."""
    d, f = D_MODEL, 4 * D_MODEL
    w = 1 / np.sqrt(np.float32(d))
    t = []

    def norm(p):
        t.extend([(p + "/beta", [d], 0.1), (p + "/gamma", [d], 0.1)])

    def linear(p, out, inp):
        t.extend([(p + "/bias", [out], 0.1), (p + "/weight", [out, inp], 1 / np.sqrt(np.float32(inp)))])

    t += [("encoder/conv1/bias", [d], 0.1), ("encoder/conv1/weight", [d, n_mels, 3], w),
          ("encoder/conv2/bias", [d], 0.1), ("encoder/conv2/weight", [d, d, 3], w)]
    for l in range(ENCODER_LAYERS):
        p = "encoder/layer_%d" % l
        norm(p + "/ffn/layer_norm"); linear(p + "/ffn/linear_0", f, d); linear(p + "/ffn/linear_1", d, f)
        norm(p + "/self_attention/layer_norm")
        linear(p + "/self_attention/linear_0", 3 * d, d); linear(p + "/self_attention/linear_1", d, d)
    norm("encoder/layer_norm")
    t.append(("encoder/position_encodings/encodings", [1500, d], 0.5))
    t.append(("decoder/embeddings/weight", [vocab_size, d], 0.5))
    for l in range(decoder_layers):
        p = "decoder/layer_%d" % l
        norm(p + "/attention/layer_norm")
        linear(p + "/attention/linear_0", d, d); linear(p + "/attention/linear_1", 2 * d, d)
        linear(p + "/attention/linear_2", d, d)
        norm(p + "/ffn/layer_norm"); linear(p + "/ffn/linear_0", f, d); linear(p + "/ffn/linear_1", d, f)
        norm(p + "/self_attention/layer_norm")
        linear(p + "/self_attention/linear_0", 3 * d, d); linear(p + "/self_attention/linear_1", d, d)
    norm("decoder/layer_norm")
    t.append(("decoder/position_encodings/encodings", [448, d], 0.5))
    return sorted(t, key=lambda x: x[0])


def draw(decoder_layers, n_mels, vocab_size):
    rng = XorShift64Star(SEED)
    values = {}
    for name, shape, scale in tensors(decoder_layers, n_mels, vocab_size):
        offset = np.float32(1 if name.endswith("/gamma") else 0)
        u = rng.uniform(int(np.prod(shape)))
        values[name] = (offset + np.float32(scale) * u).astype(np.float32).reshape(shape)
    return values


def build_spec(decoder_layers, values, tokens):
    spec = whisper_spec.WhisperSpec(ENCODER_LAYERS, HEADS, decoder_layers, HEADS)
    for name, value in values.items():
        scope, attr = name.rsplit("/", 1)
        layer = spec
        for part in scope.split("/"):
            indexed = re.fullmatch(r"(layer|linear)_(\d+)", part)
            if hasattr(layer, part) or not indexed:
                layer = getattr(layer, part)  # e.g. FeedForwardSpec.linear_0
            else:
                layer = getattr(layer, indexed.group(1))[int(indexed.group(2))]  # e.g. attention's linear[0]
        setattr(layer, attr, value.copy())
    spec.decoder.projection.weight = spec.decoder.embeddings.weight  # tied, as every converter does
    spec.register_vocabulary(tokens)
    return spec


def main():
    cache = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.expanduser("~"), ".cache", "dropscribe-random-models")
    lines = []
    for name, n_mels, layout, decoder_layers in SHAPES:
        tokens = vocabulary(layout)
        values = draw(decoder_layers, n_mels, len(tokens))
        for storage in STORAGES:
            out = os.path.join(cache, name.replace("/", "-"), storage)
            os.makedirs(out, exist_ok=True)
            for f in os.listdir(out):
                os.remove(os.path.join(out, f))
            spec = build_spec(decoder_layers, values, tokens)
            spec.validate()
            spec.optimize(quantization=storage)
            spec.save(out)
            with open(os.path.join(out, "model.bin"), "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            lines.append("%s  %s %s" % (digest, name, storage))
            print(lines[-1], flush=True)
    with open(os.path.join(HERE, "random-models.sha256"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
