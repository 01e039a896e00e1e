/// The weight copies each compute type adds at load (docs/engine.md §9).
///
/// Exists to keep one place that decides which layers run in int8 or bfloat16: every
/// linear layer of the encoder and decoder, while the convolutions stay float32 (a
/// small share of the time, and the input of everything after them).
extension LinearWeights {
    /// int8 packed for products of many rows; with `steps`, also the row-major int8 copy
    /// that decoding steps multiply with Float activations. The Float weights are dropped.
    func int8(level: KernelLevel, steps: Bool) -> LinearWeights {
        let q = Int8RowMatrix(w)
        var copy = LinearWeights(w: Matrix(rows: 0, cols: w.cols, storage: []), b: b, quantized: steps ? q : nil)
        copy.packed = PackedMatrix(int8: q, level: level)
        return copy
    }

    /// bfloat16 packed for every product; the Float weights are dropped.
    func bf16(level: KernelLevel) -> LinearWeights {
        var copy = LinearWeights(w: Matrix(rows: 0, cols: w.cols, storage: []), b: b)
        copy.packed = PackedMatrix(bf16: w, level: level)
        return copy
    }
}

extension EncoderWeights {
    /// Every layer's projections converted by `convert`; the convolutions are kept.
    func converted(_ convert: (LinearWeights) -> LinearWeights) -> EncoderWeights {
        var copy = self
        copy.layers = layers.map { layer in
            var l = layer
            l.attn.qkv = convert(l.attn.qkv)
            l.attn.out = convert(l.attn.out)
            l.ffn.up = convert(l.ffn.up)
            l.ffn.down = convert(l.ffn.down)
            return l
        }
        return copy
    }
}

extension DecoderWeights {
    /// Every layer's projections converted; `perStep` says whether the projection runs at
    /// every decoding step (all but the cross-attention K/V, which runs once per window).
    func converted(_ convert: (LinearWeights, _ perStep: Bool) -> LinearWeights) -> DecoderWeights {
        var copy = self
        copy.layers = layers.map { layer in
            var l = layer
            l.attn.qkv = convert(l.attn.qkv, true)
            l.attn.out = convert(l.attn.out, true)
            l.cross.q = convert(l.cross.q, true)
            l.cross.kv = convert(l.cross.kv, false)
            l.cross.out = convert(l.cross.out, true)
            l.ffn.up = convert(l.ffn.up, true)
            l.ffn.down = convert(l.ffn.down, true)
            return l
        }
        return copy
    }
}

/// The encoder and decoder weights for a compute type at a kernel level.
func weights(for type: ComputeType, level: KernelLevel, encoder: EncoderWeights,
             decoder: DecoderWeights) -> (EncoderWeights, DecoderWeights) {
    switch type {
    case .float32:
        return (encoder, decoder)
    case .int8:
        var dec = decoder.converted { $0.int8(level: level, steps: $1) }
        dec.outputProjection = Int8RowMatrix(decoder.outputWeights)
        return (encoder.converted { $0.int8(level: level, steps: false) }, dec)
    case .bfloat16:
        var dec = decoder.converted { w, _ in w.bf16(level: level) }
        dec.packedOutput = PackedMatrix(bf16: decoder.outputWeights, level: level)
        return (encoder.converted { $0.bf16(level: level) }, dec)
    }
}

/// The compute type a model runs at a kernel level: bfloat16 needs AVX512-BF16, and
/// without it the model runs float32, the accuracy bfloat16 approximates, rather than
/// refusing a configuration that works on the next machine. The caller logs the
/// fallback (`WhisperModel.computeTypeNote`).
func effectiveComputeType(_ asked: ComputeType, level: KernelLevel) -> ComputeType {
    asked == .bfloat16 && level < .avx512BF16 ? .float32 : asked
}
