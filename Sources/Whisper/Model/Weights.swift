/// Weights of one Linear layer: y = x·Wᵀ + b, W is (out × in).
struct LinearWeights: Sendable {
    var w: Matrix
    var b: [Float]?
    /// W packed for the int8 or bfloat16 products; when set, `w` may be empty (its
    /// Float values are then never read).
    var packed: PackedMatrix? = nil
    /// Whether the packed int8 product quantises its activations to 16 bits rather than 8:
    /// the output projection under compute_type int8 (`PackedMatrix.applyWide`).
    var wideActivations = false
    /// W read in place from model.bin at each product (float32 compute); `w` is then empty.
    var mapped: MappedWeights? = nil

    init(w: Matrix, b: [Float]?, mapped: MappedWeights? = nil) {
        self.w = w
        self.b = b
        self.mapped = mapped
    }
}

struct LayerNormWeights: Sendable {
    var gamma: [Float]
    var beta: [Float]
}

struct SelfAttentionWeights: Sendable {
    var norm: LayerNormWeights
    var qkv: LinearWeights   // (3D × D)
    var out: LinearWeights   // (D × D)
}

struct CrossAttentionWeights: Sendable {
    var norm: LayerNormWeights
    var q: LinearWeights     // (D × D)
    var kv: LinearWeights    // (2D × D)
    var out: LinearWeights   // (D × D)
}

struct FFNWeights: Sendable {
    var norm: LayerNormWeights
    var up: LinearWeights    // (F × D)
    var down: LinearWeights  // (D × F)
}

struct EncoderLayerWeights: Sendable {
    var attn: SelfAttentionWeights
    var ffn: FFNWeights
}

struct DecoderLayerWeights: Sendable {
    var attn: SelfAttentionWeights
    var cross: CrossAttentionWeights
    var ffn: FFNWeights
}

/// The architecture's dimensions, all derived from tensor shapes.
public struct ModelDimensions: Sendable, Equatable {
    public var nMels: Int
    public var dModel: Int
    public var encoderHeads: Int
    public var decoderHeads: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var ffn: Int
    public var vocabSize: Int
    public var audioContext: Int
    public var textContext: Int
}

struct EncoderWeights: Sendable {
    var conv1: LinearWeights   // (D × nMels·3) — conv as im2col GEMM
    var conv2: LinearWeights   // (D × D·3)
    var positions: Matrix      // (1500 × D)
    var layers: [EncoderLayerWeights]
    var norm: LayerNormWeights
}

struct DecoderWeights: Sendable {
    /// The token embedding (V × D) as Float; empty (0 × D) when `mappedEmbedding` or
    /// `quantizedEmbedding` holds it.
    var embedding: Matrix
    /// The embedding read from the mapped model.bin (float32 compute), else nil.
    var mappedEmbedding: MappedWeights? = nil
    /// The embedding as packed int8 rows (compute_type int8, as CTranslate2 quantises it;
    /// the tied output projection's own copy), else nil.
    var quantizedEmbedding: PackedMatrix? = nil
    /// The output projection, logits = h · Wᵀ without bias: the embedding's weights unless
    /// `untied`, in the form of the compute type (§9 of docs/engine.md).
    var output: LinearWeights
    /// Whether `decoder/projection/weight` is a layer of its own rather than the embedding
    /// (every OpenAI checkpoint ties them).
    var untied = false
    var positions: Matrix      // (448 × D)
    var layers: [DecoderLayerWeights]
    var norm: LayerNormWeights
}

/// Reads each tensor of a parsed model.bin into the form `LinearWeights.form` chooses for
/// the compute type, one tensor at a time, handing back the file's pages of every tensor
/// it converted, so loading never holds more than the result and one tensor's Floats.
struct WeightBuilder {
    let bin: ModelBinary
    let path: String
    var computeType: ComputeType = .float32
    var level: KernelLevel = .portable

    func variable(_ name: String) throws(WhisperError) -> ModelVariable {
        guard let v = bin.variables[name] else { throw .missingTensor(path: path, name: name) }
        return v
    }

    /// Float values of `name`: float32 and float16 as they are, int8/int16 dequantised
    /// with their `_scale` (docs/engine.md §2.1; CTranslate2 stores round(w · scale)).
    func floats(_ name: String, shape: [Int]) throws(WhisperError) -> [Float] {
        let v = try variable(name)
        guard v.shape == shape else { throw .badShape(path: path, name: name, expected: shape, found: v.shape) }
        defer { bin.file.release(v.byteRange) }
        switch v.dtype {
        case .f32, .f16: return bin.floats(v, level: level)
        case .bf16: throw .unsupportedWeightType(path: path, name: name, dtype: "bfloat16")
        case .i8, .i16:
            guard let s = bin.variables[name + "_scale"] else {
                throw .unsupportedWeightType(path: path, name: name, dtype: "\(v.dtype == .i8 ? "int8" : "int16") without \(name)_scale")
            }
            let rows = shape.first ?? 1
            let perRow = rows > 0 ? v.count / rows : 0
            var out = bin.floats(v, level: level)
            let scales = bin.floats(s, level: level)
            if scales.count == rows {
                for r in 0..<rows {
                    let sc = scales[r]
                    for i in 0..<perRow { out[r * perRow + i] /= sc }
                }
            } else if scales.count == 1 {
                let sc = scales[0]
                for i in out.indices { out[i] /= sc }
            } else {
                throw .badShape(path: path, name: name + "_scale", expected: [rows], found: s.shape)
            }
            return out
        case .i32:
            throw .unsupportedWeightType(path: path, name: name, dtype: "int32")
        }
    }

    func scalar(_ name: String) throws(WhisperError) -> Int {
        let v = try variable(name)
        guard v.count == 1 else { throw .badShape(path: path, name: name, expected: [], found: v.shape) }
        let x = bin.floats(v, level: level)[0]
        // Int(Float) traps on NaN, infinities and values beyond Int: those are damage.
        guard let value = Int(exactly: x.rounded(.towardZero)) else {
            throw .malformedModel(path: path, reason: "\(name) is \(x), not an integer")
        }
        return value
    }

    func matrix(_ name: String, _ rows: Int, _ cols: Int) throws(WhisperError) -> Matrix {
        Matrix(rows: rows, cols: cols, storage: try floats(name, shape: [rows, cols]))
    }

    /// `name` (rows × cols) converted straight from the mapped file by `fromFile` (its
    /// address and stored type) when it holds float32 or float16 values, so no Float copy
    /// of the matrix is made and its pages are handed back after; else by `fromFloats`
    /// from its Float values (int8/int16 files dequantised first).
    private func converted<T>(_ name: String, _ rows: Int, _ cols: Int,
                              fromFile: (UnsafeRawPointer, ModelVariable.DType) -> T,
                              fromFloats: (Matrix) -> T) throws(WhisperError) -> T {
        let v = try variable(name)
        guard v.shape == [rows, cols] else { throw .badShape(path: path, name: name, expected: [rows, cols], found: v.shape) }
        guard v.dtype == .f16 || v.dtype == .f32, let base = bin.file.bytes.baseAddress else {
            return fromFloats(try matrix(name, rows, cols))
        }
        defer { bin.file.release(v.byteRange) }
        return fromFile(base + v.offset, v.dtype)
    }

    /// `name` quantised to int8 rows, from the file or its Float values (`converted`): the
    /// same rows either way.
    func int8Rows(_ name: String, _ rows: Int, _ cols: Int) throws(WhisperError) -> Int8RowMatrix {
        try converted(name, rows, cols, fromFile: { Int8RowMatrix(rows: rows, cols: cols, mapped: $0, dtype: $1, level: level) },
                      fromFloats: { Int8RowMatrix($0) })
    }

    /// `name` packed as bfloat16, from the file or its Float values (`converted`): the same
    /// packed values either way.
    func bf16Packed(_ name: String, _ rows: Int, _ cols: Int) throws(WhisperError) -> PackedMatrix {
        try converted(name, rows, cols, fromFile: { PackedMatrix(bf16Rows: rows, cols: cols, mapped: $0, dtype: $1, level: level) },
                      fromFloats: { PackedMatrix(bf16: $0, level: level) })
    }

    /// A float32-compute weight: read in place (`mapped`, float32 or float16 in the file),
    /// or widened to a Float matrix.
    func kept(_ name: String, _ rows: Int, _ cols: Int, mapped: Bool) throws(WhisperError) -> (Matrix, MappedWeights?) {
        let v = try variable(name)
        guard mapped, v.dtype == .f16 || v.dtype == .f32 else { return (try matrix(name, rows, cols), nil) }
        guard v.shape == [rows, cols] else { throw .badShape(path: path, name: name, expected: [rows, cols], found: v.shape) }
        return (Matrix(rows: 0, cols: cols, storage: []),
                MappedWeights(element: v.dtype == .f16 ? .float16 : .float32, rows: rows, cols: cols, offset: v.offset,
                              file: bin.file, level: level))
    }

    /// A linear layer's weights in the form the compute type keeps them in.
    func linear(_ prefix: String, out: Int, in inDim: Int) throws(WhisperError) -> LinearWeights {
        let name = prefix + "/weight"
        let v = try variable(name)
        guard v.shape == [out, inDim] else { throw .badShape(path: path, name: name, expected: [out, inDim], found: v.shape) }
        let b = try floats(prefix + "/bias", shape: [out])
        let form = LinearWeights.form(stored: v.dtype, compute: computeType,
                                      aligned: v.offset % 4 == 0)
        switch form {
        case .mapped, .widened:
            let (w, mapped) = try kept(name, out, inDim, mapped: form == .mapped)
            return LinearWeights(w: w, b: b, mapped: mapped)
        case .int8:
            return LinearWeights.int8(try int8Rows(name, out, inDim), bias: b, level: level)
        case .bf16:
            var copy = LinearWeights(w: Matrix(rows: 0, cols: inDim, storage: []), b: b)
            copy.packed = try bf16Packed(name, out, inDim)
            return copy
        }
    }

    func norm(_ prefix: String, _ d: Int) throws(WhisperError) -> LayerNormWeights {
        LayerNormWeights(gamma: try floats(prefix + "/gamma", shape: [d]), beta: try floats(prefix + "/beta", shape: [d]))
    }

    func layerCount(_ prefix: String) -> Int {
        var n = 0
        while bin.variables.keys.contains(where: { $0.hasPrefix("\(prefix)/layer_\(n)/") }) { n += 1 }
        return n
    }

    func build() throws(WhisperError) -> (ModelDimensions, EncoderWeights, DecoderWeights) {
        let dims = try dimensions()
        let (d, nMels, vocab, ffn) = (dims.dModel, dims.nMels, dims.vocabSize, dims.ffn)

        // The embedding first: int8 quantises it from a transient Float copy (V × D, the
        // largest tensor), which then never coexists with the rest of the converted model.
        var dec = try outputLayers(vocab: vocab, d: d,
                                   positions: try matrix("decoder/position_encodings/encodings", dims.textContext, d),
                                   norm: try norm("decoder/layer_norm", d))
        func selfAttn(_ p: String) throws(WhisperError) -> SelfAttentionWeights {
            SelfAttentionWeights(norm: try norm(p + "/layer_norm", d),
                                 qkv: try linear(p + "/linear_0", out: 3 * d, in: d),
                                 out: try linear(p + "/linear_1", out: d, in: d))
        }
        func ffnW(_ p: String) throws(WhisperError) -> FFNWeights {
            FFNWeights(norm: try norm(p + "/layer_norm", d),
                       up: try linear(p + "/linear_0", out: ffn, in: d),
                       down: try linear(p + "/linear_1", out: d, in: ffn))
        }
        var encLayers: [EncoderLayerWeights] = []
        for l in 0..<dims.encoderLayers {
            let p = "encoder/layer_\(l)"
            encLayers.append(EncoderLayerWeights(attn: try selfAttn(p + "/self_attention"), ffn: try ffnW(p + "/ffn")))
        }
        var decLayers: [DecoderLayerWeights] = []
        for l in 0..<dims.decoderLayers {
            let p = "decoder/layer_\(l)"
            let cross = CrossAttentionWeights(norm: try norm(p + "/attention/layer_norm", d),
                                              q: try linear(p + "/attention/linear_0", out: d, in: d),
                                              kv: try linear(p + "/attention/linear_1", out: 2 * d, in: d),
                                              out: try linear(p + "/attention/linear_2", out: d, in: d))
            decLayers.append(DecoderLayerWeights(attn: try selfAttn(p + "/self_attention"), cross: cross,
                                                 ffn: try ffnW(p + "/ffn")))
        }
        let c1 = try floats("encoder/conv1/weight", shape: [d, nMels, 3])
        let c2 = try floats("encoder/conv2/weight", shape: [d, d, 3])
        let enc = EncoderWeights(
            conv1: LinearWeights(w: Matrix(rows: d, cols: nMels * 3, storage: c1), b: try floats("encoder/conv1/bias", shape: [d])),
            conv2: LinearWeights(w: Matrix(rows: d, cols: d * 3, storage: c2), b: try floats("encoder/conv2/bias", shape: [d])),
            positions: try matrix("encoder/position_encodings/encodings", dims.audioContext, d),
            layers: encLayers, norm: try norm("encoder/layer_norm", d))
        dec.layers = decLayers
        return (dims, enc, dec)
    }
}
