/// What transcribing with a model takes in memory, worked out from its model.bin header.
///
/// Exists so the daemon starts a job, and replaces a worker, by what the model holds under
/// its compute type (docs/engine.md §9) rather than by a multiple of the file's size: a
/// float16 large-v3-turbo peaks at about 1.8 GiB in float32 and 1.1 GiB in int8, where
/// twice model.bin (the estimate before weights were kept lean) said 3.3 GiB for both.
/// It errs high: the self-attention cache is counted at the most positions a prompt and
/// the new tokens can fill.
public struct MemoryFootprint: Sendable, Equatable {
    /// The weights in the form the compute type keeps them: a float32 run's float16 and
    /// float32 matrices as the mapped pages it reads, int8's one byte and bfloat16's two a
    /// weight, and the convolutions, positions, biases and norms as Float.
    public var weightBytes: Int64
    /// One job's working set: a window's encoder activations (and, for mapped float16
    /// weights, the widest matrix widened for its product), each piece's cross-attention
    /// K/V, every hypothesis' self-attention cache (`selfAttentionPositions`), the logits,
    /// and the process's own share (runtime, FFmpeg, OpenBLAS buffers, features).
    public var workingBytes: Int64

    public var totalBytes: Int64 { weightBytes + workingBytes }

    /// The process's own share of the working set: the runtime, FFmpeg and OpenBLAS with
    /// its buffers, the audio and features in flight. A tiny.en int8 worker peaks about
    /// 160 MiB above its weights and caches (266 MiB, BENCHMARKS.md); large-v3-turbo's sit
    /// 40-110 MiB above theirs, their encoders' larger activations being counted apart.
    static let processBytes: Int64 = 192 << 20

    /// How many positions one hypothesis' self-attention cache can reach, as the cache
    /// holds them (in steps of `SelfAttentionCache.growthStep`). The whole text context
    /// when a window's prompt may carry earlier windows' text (sequential decoding with
    /// condition_on_previous_text); otherwise sot_prev, the hotwords and the initial prompt
    /// (no more tokens than their `promptTextBytes` UTF-8 bytes, plus a leading space
    /// each), the start sequence (at most 4 tokens) and at most half the context of new
    /// tokens, as `PromptLayout` allows: batched decoding, which never carries earlier
    /// text, needs about half.
    static func selfAttentionPositions(textContext: Int, previousText: Bool, promptTextBytes: Int) -> Int {
        let context = max(1, textContext)
        guard !previousText else { return context }
        let prompt = promptTextBytes > 0 ? min(context, promptTextBytes) + 3 : 0
        let needed = prompt + 4 + context / 2
        let step = SelfAttentionCache.growthStep
        return min(context, (needed + step - 1) / step * step)
    }

    /// The footprint of a model whose variables are `variables` (each stored once: aliases
    /// share an offset), under `computeType`, decoding `pieces` pieces at a time (1, or the
    /// batch size) with `beamSize` hypotheses each, whose caches reach `textPositions`
    /// positions (`selfAttentionPositions`; the text context if nil). Pure: the policy
    /// behind `estimate`.
    static func of(variables: [String: ModelVariable], dimensions dims: ModelDimensions, computeType: ComputeType,
                   beamSize: Int, pieces: Int, textPositions: Int? = nil) -> MemoryFootprint {
        var weights: Int64 = 0
        var counted = Set<Int>()
        for (name, v) in variables where counted.insert(v.offset).inserted {
            let values = Int64(v.count)
            // Linear layers, the embedding and the output projection: the layers `LinearWeights.form` decides for.
            guard v.shape.count == 2, name.hasSuffix("/weight") else {
                weights += 4 * values
                continue
            }
            switch computeType {
            case .int8: weights += values + 8 * Int64(v.shape[0])
            case .bfloat16: weights += 2 * values
            case .float32:
                let inPlace = LinearWeights.form(stored: v.dtype, compute: .float32, aligned: v.offset % 4 == 0) == .mapped
                weights += inPlace ? values * Int64(v.dtype.itemSize) : 4 * values
            }
        }
        // In Double: the dimensions come from the file, and their products must not trap.
        let d = Double(dims.dModel), float = Double(MemoryLayout<Float>.size)
        let text = Double(min(textPositions ?? dims.textContext, dims.textContext))
        let (audio, layers) = (Double(dims.audioContext), Double(dims.decoderLayers))
        let (pieces, hypotheses) = (Double(max(1, pieces)), Double(max(1, pieces)) * Double(max(1, beamSize)))
        let cross = pieces * layers * 2 * audio * d * float
        let selfCache = hypotheses * layers * 2 * text * d * float
        let encoder = audio * (6 * d + Double(dims.ffn)) * float
        let widened = computeType == .float32 ? Double(dims.ffn) * d * float : 0
        let logits = 2 * hypotheses * Double(dims.vocabSize) * float
        let working = cross + selfCache + encoder + widened + logits + Double(processBytes)
        return MemoryFootprint(weightBytes: weights, workingBytes: working < 0x1p62 ? Int64(working) : 1 << 62)
    }

    /// The footprint of the model in `directory` under `computeType` on this CPU (bfloat16
    /// without AVX512-BF16 runs float32, as `WhisperModel.load` does). `previousText`: a
    /// window's prompt may carry earlier windows' text; `promptTextBytes`: the UTF-8 length
    /// of the initial prompt and the hotwords (both bound the self-attention cache). Reads model.bin's
    /// header through its mapping: no weight is read or converted.
    public static func estimate(directory: String, computeType: ComputeType, beamSize: Int, pieces: Int,
                                previousText: Bool = true, promptTextBytes: Int = 0) throws(WhisperError) -> MemoryFootprint {
        try estimate(directory: directory, computeTypes: [computeType], beamSize: beamSize, pieces: pieces,
                     previousText: previousText, promptTextBytes: promptTextBytes)[0]
    }

    /// `estimate` for each of `computeTypes`, from one read of the header.
    public static func estimate(directory: String, computeTypes: [ComputeType], beamSize: Int, pieces: Int,
                                previousText: Bool = true, promptTextBytes: Int = 0) throws(WhisperError) -> [MemoryFootprint] {
        let files = try ModelFiles(directory: directory)
        let bin = try ModelBinary.parse(try MappedFile(path: files.modelBinPath), path: files.modelBinPath)
        let dims = try WeightBuilder(bin: bin, path: files.modelBinPath, level: KernelLevel.detected).dimensions()
        let positions = selfAttentionPositions(textContext: dims.textContext, previousText: previousText,
                                               promptTextBytes: promptTextBytes)
        return computeTypes.map { asked in
            of(variables: bin.variables, dimensions: dims, computeType: effectiveComputeType(asked, level: KernelLevel.detected),
               beamSize: beamSize, pieces: pieces, textPositions: positions)
        }
    }
}
