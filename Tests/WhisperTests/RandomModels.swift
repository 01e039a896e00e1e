import Foundation
@testable import Whisper

/// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators",
/// 2016): state ^= state >> 12, ^= state << 25, ^= state >> 27, output state · 0x2545F4914F6CDD1D.
/// `uniform()` takes the output's top 24 bits, so every value is an exact Float in [-1, 1):
/// (bits / 2²⁴) · 2 − 1. A seed of 0 is replaced by 1 (the generator's one fixed point).
struct XorShift64Star {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 1 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func uniform() -> Float { Float(next() >> 40) / 8_388_608 - 1 }
}

/// The shapes of the Whisper models people run, shrunk in width so a test can write,
/// load and run one in well under a second: the mel bins, vocabulary layout and
/// decoder depth ratio are the real models'.
struct RandomModelShape: Sendable, CustomStringConvertible {
    enum Vocabulary: Sendable { case english, multilingual, v3 }
    var description: String
    var nMels: Int
    var vocabulary: Vocabulary
    var decoderLayers: Int
    var dModel = 64
    var heads = 2
    var encoderLayers = 2
    var ffn: Int { 4 * dModel }

    static let largeV3 = RandomModelShape(description: "large-v3", nMels: 128, vocabulary: .v3, decoderLayers: 3)
    static let largeV3Turbo = RandomModelShape(description: "large-v3-turbo", nMels: 128, vocabulary: .v3, decoderLayers: 4)
    static let distilLargeV3 = RandomModelShape(description: "distil-large-v3", nMels: 128, vocabulary: .v3, decoderLayers: 2)
    static let multilingual = RandomModelShape(description: "small/medium", nMels: 80, vocabulary: .multilingual, decoderLayers: 2)
    static let english = RandomModelShape(description: "small.en/medium.en", nMels: 80, vocabulary: .english, decoderLayers: 2)
    static let all = [largeV3, largeV3Turbo, distilLargeV3, multilingual, english]
}

/// How model.bin stores the weights, as CTranslate2's `quantization` option names it.
enum RandomModelStorage: String, Sendable {
    case float32, float16, int8Float32 = "int8_float32", int8Float16 = "int8_float16"
    /// Not read by the loader: only for its error.
    case bfloat16
}

/// Vocabularies of the three layouts, built from the real tiny.en (English-only, 51864)
/// and base (multilingual, 51865) vocabularies; v3 is base with `<|yue|>` after `<|su|>`
/// (id 50358), which moves every later token (translate … timestamps) up by one.
enum RandomModelVocabularies {
    static func tokens(_ layout: RandomModelShape.Vocabulary) throws -> [String] {
        switch layout {
        case .english: return try english.get()
        case .multilingual: return try multilingual.get()
        case .v3: return try v3.get()
        }
    }

    // Read once per process: every random model of a layout shares its vocabulary.
    private static let english = Result { try read(.english) }
    private static let multilingual = Result { try read(.multilingual) }
    private static let v3 = Result { try read(.v3) }

    private static func read(_ layout: RandomModelShape.Vocabulary) throws -> [String] {
        switch layout {
        case .english: return try ModelFiles(directory: Fixtures.modelPath("tiny.en")).vocabulary()
        case .multilingual: return try ModelFiles(directory: Fixtures.modelPath("base")).vocabulary()
        case .v3:
            var v = try read(.multilingual)
            let su = try requireIndex(of: "<|su|>", in: v)
            v.insert("<|yue|>", at: su + 1)
            return v
        }
    }

    /// config.json's lang_ids: every `<|code|>` token of the layout.
    static func languageIds(_ tokens: [String]) -> [Int] {
        Tokenizer.allLanguageCodes.compactMap { code in tokens.firstIndex(of: "<|\(code)|>") }
    }

    /// The converter's suppress_ids: base's list, with the special tokens after `<|su|>` moved for v3.
    static func suppressIds(_ layout: RandomModelShape.Vocabulary) throws -> (ids: [Int], begin: [Int]) {
        let name = layout == .english ? "tiny.en" : "base"
        let c = try ModelFiles(directory: Fixtures.modelPath(name)).config()
        guard layout == .v3 else { return (c.suppressIds, c.suppressIdsBegin) }
        return (c.suppressIds.map { $0 > 50357 ? $0 + 1 : $0 }, c.suppressIdsBegin)
    }
}

private func requireIndex(of token: String, in v: [String]) throws -> Int {
    guard let i = v.firstIndex(of: token) else { throw RandomModelError.missingToken(token) }
    return i
}

enum RandomModelError: Error { case missingToken(String) }

/// Writes a random-weight Whisper model folder as CTranslate2's converter would:
/// model.bin (WhisperSpec revision 3, binary version 6, variables in name order, the
/// tied output projection an alias of the embedding), config.json, vocabulary.json and
/// preprocessor_config.json.
///
/// Every tensor is drawn from one `XorShift64Star` in variable-name order, so a seed
/// and a shape fix the model; `overrides` replaces tensors after drawing (to rig a test).
/// Without overrides, model.bin is byte for byte what make-random-models.py writes with
/// ctranslate2.specs (4.8.5; RandomModelWriterTests checks the sha256s it recorded).
struct RandomModelWriter {
    var shape: RandomModelShape
    var storage: RandomModelStorage = .float32
    var seed: UInt64 = 17
    var untiedProjection = false
    var specName = "WhisperSpec"
    var overrides: [String: [Float]] = [:]

    /// Name, shape and scale of every float tensor, sorted by name.
    func tensors(vocabSize: Int) -> [(name: String, shape: [Int], scale: Float)] {
        let d = shape.dModel, f = shape.ffn
        let w = 1 / Float(d).squareRoot()
        var t: [(String, [Int], Float)] = []
        func norm(_ p: String) { t += [(p + "/beta", [d], 0.1), (p + "/gamma", [d], 0.1)] }
        func linear(_ p: String, _ out: Int, _ inDim: Int) {
            t += [(p + "/bias", [out], 0.1), (p + "/weight", [out, inDim], 1 / Float(inDim).squareRoot())]
        }
        t += [("encoder/conv1/bias", [d], 0.1), ("encoder/conv1/weight", [d, shape.nMels, 3], w),
              ("encoder/conv2/bias", [d], 0.1), ("encoder/conv2/weight", [d, d, 3], w)]
        for l in 0..<shape.encoderLayers {
            let p = "encoder/layer_\(l)"
            norm(p + "/ffn/layer_norm"); linear(p + "/ffn/linear_0", f, d); linear(p + "/ffn/linear_1", d, f)
            norm(p + "/self_attention/layer_norm")
            linear(p + "/self_attention/linear_0", 3 * d, d); linear(p + "/self_attention/linear_1", d, d)
        }
        norm("encoder/layer_norm")
        t.append(("encoder/position_encodings/encodings", [1500, d], 0.5))
        t.append(("decoder/embeddings/weight", [vocabSize, d], 0.5))
        for l in 0..<shape.decoderLayers {
            let p = "decoder/layer_\(l)"
            norm(p + "/attention/layer_norm")
            linear(p + "/attention/linear_0", d, d); linear(p + "/attention/linear_1", 2 * d, d)
            linear(p + "/attention/linear_2", d, d)
            norm(p + "/ffn/layer_norm"); linear(p + "/ffn/linear_0", f, d); linear(p + "/ffn/linear_1", d, f)
            norm(p + "/self_attention/layer_norm")
            linear(p + "/self_attention/linear_0", 3 * d, d); linear(p + "/self_attention/linear_1", d, d)
        }
        norm("decoder/layer_norm")
        t.append(("decoder/position_encodings/encodings", [448, d], 0.5))
        if untiedProjection { t.append(("decoder/projection/weight", [vocabSize, d], 0.5)) }
        return t.sorted { $0.0 < $1.0 }
    }

    /// The float32 values of every tensor (before storage conversion).
    func values(vocabSize: Int) -> [String: (shape: [Int], values: [Float])] {
        var rng = XorShift64Star(seed: seed)
        var out: [String: (shape: [Int], values: [Float])] = [:]
        for (name, dims, scale) in tensors(vocabSize: vocabSize) {
            let n = dims.reduce(1, *)
            // Layer norms scale around 1, the rest around 0.
            let offset: Float = name.hasSuffix("/gamma") ? 1 : 0
            var v = [Float](repeating: 0, count: n)
            for i in 0..<n { v[i] = offset + scale * rng.uniform() }
            if let o = overrides[name] { v = o }
            out[name] = (dims, v)
        }
        return out
    }

    /// Writes the folder (which must exist) and returns the float32 values written.
    @discardableResult
    func write(to dir: String) throws -> [String: (shape: [Int], values: [Float])] {
        let vocab = try RandomModelVocabularies.tokens(shape.vocabulary)
        let tensors = values(vocabSize: vocab.count)
        var w = ModelBinWriter()
        w.u32(6); w.string(specName); w.u32(3)
        var records: [(String, [Int], UInt8, [UInt8])] = []
        for (name, t) in tensors {
            let quantize = (storage == .int8Float32 || storage == .int8Float16) && name.hasSuffix("/weight")
            if quantize {
                let (q, scales) = Self.int8(t.values, rows: t.shape[0])
                records.append((name, t.shape, 1, q.map { UInt8(bitPattern: $0) }))
                records.append((name + "_scale", [t.shape[0]], 0, Self.f32(scales)))
            } else if storage == .float16 || storage == .int8Float16 {
                records.append((name, t.shape, 4, Self.f16(t.values)))
            } else if storage == .bfloat16 {
                records.append((name, t.shape, 5, Self.bf16(t.values)))
            } else {
                records.append((name, t.shape, 0, Self.f32(t.values)))
            }
        }
        records += Self.scalars(heads: shape.heads)
        records.sort { $0.0 < $1.0 }
        w.u32(UInt32(records.count))
        for (name, dims, dtype, data) in records { w.variable(name, shape: dims, dtype: dtype, data: data) }
        let aliases = untiedProjection ? [] : [("decoder/projection/weight", "decoder/embeddings/weight")]
        w.u32(UInt32(aliases.count))
        for (alias, target) in aliases { w.string(alias); w.string(target) }
        try Data(w.bytes).write(to: URL(fileURLWithPath: dir + "/model.bin"))

        let suppress = try RandomModelVocabularies.suppressIds(shape.vocabulary)
        let config: [String: Any] = ["alignment_heads": [[1, 0]], "lang_ids": RandomModelVocabularies.languageIds(vocab),
                                     "suppress_ids": suppress.ids, "suppress_ids_begin": suppress.begin]
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
            .write(to: URL(fileURLWithPath: dir + "/config.json"))
        try JSONEncoder().encode(vocab).write(to: URL(fileURLWithPath: dir + "/vocabulary.json"))
        let pre: [String: Any] = ["feature_size": shape.nMels, "hop_length": 160, "n_fft": 400, "sampling_rate": 16000,
                                  "chunk_length": 30, "n_samples": 480000, "nb_max_frames": 3000]
        try JSONSerialization.data(withJSONObject: pre, options: [.sortedKeys])
            .write(to: URL(fileURLWithPath: dir + "/preprocessor_config.json"))
        return tensors
    }

    /// The scalar attributes CTranslate2's WhisperSpec writes (booleans as int8, ints
    /// as int16): model_spec.py and whisper_spec.py, as ctranslate2 4.8.5 saves them.
    static func scalars(heads: Int) -> [(String, [Int], UInt8, [UInt8])] {
        let int8: UInt8 = 1, int16: UInt8 = 2
        let flags: [(String, UInt8)] = [("decoder/activation", 3), ("decoder/alibi", 0), ("decoder/alibi_use_positive_positions", 0),
                                        ("decoder/pre_norm", 1), ("decoder/scale_alibi", 0), ("decoder/scale_embeddings", 0),
                                        ("decoder/start_from_zero_embedding", 0)]
        return flags.map { ($0.0, [], int8, [$0.1]) } + [
            ("decoder/alignment_heads", [], int16, [1, 0]), ("decoder/alignment_layer", [], int16, [0xff, 0xff]),
            ("decoder/num_heads", [], int16, [UInt8(heads), 0]), ("encoder/num_heads", [], int16, [UInt8(heads), 0]),
        ]
    }

    /// CTranslate2's int8 quantisation (model_spec.py): per row, scale = 127 / max|w|
    /// (127 for an all-zero row), q = rint(w · scale), halves to even as numpy does.
    static func int8(_ v: [Float], rows: Int) -> (q: [Int8], scales: [Float]) {
        let perRow = v.count / rows
        var q = [Int8](repeating: 0, count: v.count), scales = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let row = r * perRow ..< (r + 1) * perRow
            var amax: Float = 0
            for i in row { amax = max(amax, abs(v[i])) }
            if amax == 0 { amax = 127 }
            let scale = 127 / amax
            scales[r] = scale
            for i in row { q[i] = Int8((v[i] * scale).rounded(.toNearestOrEven)) }
        }
        return (q, scales)
    }

    /// float32 → IEEE half, round to nearest even (numpy's astype(float16)), little-endian bytes.
    static func f16(_ v: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 2 * v.count)
        for (i, x) in v.enumerated() {
            let h = Float16(x).bitPattern
            out[2 * i] = UInt8(h & 0xff)
            out[2 * i + 1] = UInt8(h >> 8)
        }
        return out
    }

    /// float32 little-endian bytes.
    static func f32(_ v: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 4 * v.count)
        for (i, x) in v.enumerated() {
            let b = x.bitPattern
            for k in 0..<4 { out[4 * i + k] = UInt8((b >> (8 * UInt32(k))) & 0xff) }
        }
        return out
    }

    /// bfloat16 (the top half of float32) little-endian bytes.
    static func bf16(_ v: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 2 * v.count)
        for (i, x) in v.enumerated() {
            out[2 * i] = UInt8((x.bitPattern >> 16) & 0xff)
            out[2 * i + 1] = UInt8(x.bitPattern >> 24)
        }
        return out
    }
}

/// Writes a random model into a fresh temporary folder, runs `body`, then removes it.
func withRandomModel<T>(_ writer: RandomModelWriter,
                        _ body: (String, [String: (shape: [Int], values: [Float])]) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dropscribe-random-model-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let values = try writer.write(to: dir)
    return try body(dir, values)
}
