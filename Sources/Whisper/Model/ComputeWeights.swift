/// How one linear layer's weights are held in memory (docs/engine.md §9).
enum WeightForm: Equatable, Sendable {
    /// Read from the mapped model.bin at each product: float32 in place, float16 widened
    /// into a buffer of the product's own just before it.
    case mapped
    /// Converted to Float once at load.
    case widened
    /// int8 rows with one scale each, packed for the int8 products.
    case int8
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
    /// float16 file's in place always (products of many rows widen the matrix first, a
    /// decoding step's few rows read the float16 rows directly), whichever layer it is.
    /// int8 and int16 files are dequantised once (float32 compute reads Float).
    static func form(stored: ModelVariable.DType, compute: ComputeType, aligned: Bool) -> WeightForm {
        switch compute {
        case .int8: return .int8
        case .bfloat16: return .bf16
        case .float32:
            switch stored {
            case .f32: return aligned ? .mapped : .widened
            case .f16: return .mapped
            default: return .widened
            }
        }
    }

    /// int8 with one scale per row, packed, for every product (a decoding step's few rows
    /// included: their activations are quantised per row as CTranslate2 does, and VNNI's
    /// products keep a step bound by reading the weights); the Float weights are dropped.
    func int8(level: KernelLevel) -> LinearWeights { Self.int8(Int8RowMatrix(w), bias: b, level: level) }

    /// The int8 layer of rows quantised already (`WeightBuilder.int8Rows`).
    static func int8(_ q: Int8RowMatrix, bias: [Float]?, level: KernelLevel) -> LinearWeights {
        var copy = LinearWeights(w: Matrix(rows: 0, cols: q.cols, storage: []), b: bias)
        copy.packed = PackedMatrix(int8: q, level: level)
        return copy
    }

}

extension WeightBuilder {
    /// The decoder without its layers: embedding and output projection for the compute
    /// type, positions and final norm. float32 reads the embedding and projection in place
    /// (as `form` does any float32/float16 weight), bfloat16 reads the embedding in place
    /// too (a lookup widens one row: exact, and no Float copy of V × D) and packs the
    /// projection, int8 keeps int8 rows only, quantised as CTranslate2 does (a
    /// token's embedding is its row times 1/scale, as CTranslate2 gathers a quantised
    /// embedding; the projection takes 16-bit activations, docs/engine.md §9). A
    /// `decoder/projection/weight` that is the embedding (an alias, or the same bytes) is
    /// the tied layer.
    func outputLayers(vocab: Int, d: Int, positions: Matrix, norm: LayerNormWeights) throws(WhisperError) -> DecoderWeights {
        let embeddingName = "decoder/embeddings/weight", projectionName = "decoder/projection/weight"
        var untied = false
        if let p = bin.variables[projectionName], let e = bin.variables[embeddingName], p.offset != e.offset {
            guard p.shape == [vocab, d] else { throw .badShape(path: path, name: projectionName, expected: [vocab, d], found: p.shape) }
            untied = p.dtype != e.dtype || !bin.file.bytes[p.byteRange].elementsEqual(bin.file.bytes[e.byteRange])
        }
        let empty = Matrix(rows: 0, cols: d, storage: [])
        var dec = DecoderWeights(embedding: empty, output: LinearWeights(w: empty, b: nil), untied: untied,
                                 positions: positions, layers: [], norm: norm)
        func inPlace(_ name: String) throws(WhisperError) -> Bool {
            let v = try variable(name)
            return LinearWeights.form(stored: v.dtype, compute: .float32, aligned: v.offset % 4 == 0) == .mapped
        }
        switch computeType {
        case .int8:
            let e = PackedMatrix(int8: try int8Rows(embeddingName, vocab, d), level: level)
            dec.quantizedEmbedding = e
            dec.output.packed = untied ? PackedMatrix(int8: try int8Rows(projectionName, vocab, d), level: level) : e
            dec.output.wideActivations = true
        case .bfloat16:
            (dec.embedding, dec.mappedEmbedding) = try kept(embeddingName, vocab, d, mapped: try inPlace(embeddingName))
            dec.output.packed = untied || dec.mappedEmbedding != nil
                ? try bf16Packed(untied ? projectionName : embeddingName, vocab, d)
                : PackedMatrix(bf16: dec.embedding, level: level)
        case .float32:
            (dec.embedding, dec.mappedEmbedding) = try kept(embeddingName, vocab, d, mapped: try inPlace(embeddingName))
            if untied {
                let (w, mapped) = try kept(projectionName, vocab, d, mapped: try inPlace(projectionName))
                dec.output = LinearWeights(w: w, b: nil, mapped: mapped)
            } else {
                dec.output = LinearWeights(w: dec.embedding, b: nil, mapped: dec.mappedEmbedding)
            }
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
