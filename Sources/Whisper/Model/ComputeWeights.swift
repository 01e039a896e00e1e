/// Where a linear layer's weights are used, which decides how they are kept.
enum WeightRole: Sendable {
    /// The encoder's projections: products of 1500 rows, once per window.
    case encoder
    /// Decoder projections run at every decoding step (a few rows each).
    case decoderStep
    /// The cross-attention K/V projection: 1500 rows, once per window.
    case decoderOnce
}

/// How one linear layer's weights are held in memory (docs/engine.md §9).
enum WeightForm: Equatable, Sendable {
    /// Read from the mapped model.bin at each product: float32 in place, float16 widened
    /// into a buffer of the product's own just before it.
    case mapped
    /// Converted to Float once at load.
    case widened
    /// int8 rows with one scale each, packed; `steps` keeps the row-major copy decoding steps use.
    case int8(steps: Bool)
    /// bfloat16, packed.
    case bf16
}

/// The weight copies each compute type makes at load (docs/engine.md §9).
///
/// Exists to keep in one place which layers run in int8 or bfloat16 (every linear layer
/// of the encoder and decoder, while the convolutions stay float32: a small share of the
/// time, and the input of everything after them) and which are read in place.
extension LinearWeights {
    /// The form of a layer's weights stored as `stored` under `compute`. float32 compute
    /// keeps a float32 file's weights in place when they are 4-byte aligned, and a
    /// float16 file's in place too except for the per-step decoder layers, whose few-row
    /// products would widen the whole matrix for a handful of dot products each step:
    /// those (a small share of a large model) are widened once. int8 and int16 files
    /// are dequantised once (float32 compute reads Float).
    static func form(role: WeightRole, stored: ModelVariable.DType, compute: ComputeType, aligned: Bool) -> WeightForm {
        switch compute {
        case .int8: return .int8(steps: role == .decoderStep)
        case .bfloat16: return .bf16
        case .float32:
            switch stored {
            case .f32: return aligned ? .mapped : .widened
            case .f16: return role == .decoderStep ? .widened : .mapped
            default: return .widened
            }
        }
    }

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

extension WeightBuilder {
    /// The embedding and output projection for the compute type: Float (float32), Float
    /// plus a packed bfloat16 output (bfloat16), or int8 rows only (int8: the embedding
    /// is looked up from its int8 rows, as in CTranslate2). A `decoder/projection/weight`
    /// that is the embedding (an alias, or the same bytes) is the tied layer.
    func outputLayers(_ decoder: DecoderWeights, vocab: Int, d: Int) throws(WhisperError) -> DecoderWeights {
        var dec = decoder
        let embeddingName = "decoder/embeddings/weight", projectionName = "decoder/projection/weight"
        var untied = false
        if let p = bin.variables[projectionName], let e = bin.variables[embeddingName], p.offset != e.offset {
            guard p.shape == [vocab, d] else { throw .badShape(path: path, name: projectionName, expected: [vocab, d], found: p.shape) }
            untied = p.dtype != e.dtype || !bin.file.bytes[p.byteRange].elementsEqual(bin.file.bytes[e.byteRange])
        }
        switch computeType {
        case .int8:
            let e = Int8RowMatrix(try matrix(embeddingName, vocab, d))
            dec.quantizedEmbedding = e
            dec.outputProjection = untied ? Int8RowMatrix(try matrix(projectionName, vocab, d)) : e
        case .float32, .bfloat16:
            dec.embedding = try matrix(embeddingName, vocab, d)
            if untied { dec.projection = try matrix(projectionName, vocab, d) }
            if computeType == .bfloat16 { dec.packedOutput = PackedMatrix(bf16: dec.outputWeights, level: level) }
        }
        return dec
    }
}

/// The compute type a model runs at a kernel level: bfloat16 needs AVX512-BF16, and
/// without it the model runs float32, the accuracy bfloat16 approximates, rather than
/// refusing a configuration that works on the next machine. The caller logs the
/// fallback (`WhisperModel.computeTypeNote`).
func effectiveComputeType(_ asked: ComputeType, level: KernelLevel) -> ComputeType {
    asked == .bfloat16 && level < .avx512BF16 ? .float32 : asked
}
