import Foundation

/// Contents of a CTranslate2 Whisper `config.json`.
///
/// Exists to hold the decoding rules the converter wrote beside the weights; once loaded,
/// `suppressIds` is faster-whisper's list when the tokenizer can compute it (docs/engine.md §2.4).
public struct WhisperConfig: Sendable, Codable, Equatable {
    public var alignmentHeads: [[Int]]
    public var langIds: [Int]
    public var suppressIds: [Int]
    public var suppressIdsBegin: [Int]

    enum CodingKeys: String, CodingKey {
        case alignmentHeads = "alignment_heads"
        case langIds = "lang_ids"
        case suppressIds = "suppress_ids"
        case suppressIdsBegin = "suppress_ids_begin"
    }

    public init(alignmentHeads: [[Int]], langIds: [Int], suppressIds: [Int], suppressIdsBegin: [Int]) {
        self.alignmentHeads = alignmentHeads
        self.langIds = langIds
        self.suppressIds = suppressIds
        self.suppressIdsBegin = suppressIdsBegin
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        alignmentHeads = try c.decodeIfPresent([[Int]].self, forKey: .alignmentHeads) ?? []
        langIds = try c.decodeIfPresent([Int].self, forKey: .langIds) ?? []
        suppressIds = try c.decode([Int].self, forKey: .suppressIds)
        suppressIdsBegin = try c.decode([Int].self, forKey: .suppressIdsBegin)
    }
}

/// A loaded Whisper model: immutable weights, configuration and tokenizer.
///
/// Exists as the one shareable (Sendable) object of the engine: load it once per
/// worker, then run any number of windows against it; all per-run state (KV
/// caches, RNG) lives in values owned by the caller.
public final class WhisperModel: Sendable {
    public let directory: String
    public let dimensions: ModelDimensions
    public let config: WhisperConfig
    public let tokenizer: Tokenizer
    public let spectrogram: LogMelSpectrogram
    /// How the linear layers' weights are stored and multiplied: the one asked for, or
    /// float32 when bfloat16 was asked on a CPU without AVX512-BF16.
    public let computeType: ComputeType
    /// The instruction set the kernels use (the CPU's, or lower by `DROPSCRIBE_CPU`).
    public let kernelLevel: KernelLevel
    /// Set when the compute type asked for could not be used here: what runs instead and why.
    public let computeTypeNote: String?
    let encoder: EncoderWeights
    let decoder: DecoderWeights

    init(directory: String, dimensions: ModelDimensions, config: WhisperConfig, tokenizer: Tokenizer,
         encoder: EncoderWeights, decoder: DecoderWeights, computeType: ComputeType = .float32,
         kernelLevel: KernelLevel = .portable, computeTypeNote: String? = nil) {
        self.computeType = computeType
        self.kernelLevel = kernelLevel
        self.computeTypeNote = computeTypeNote
        self.directory = directory
        self.dimensions = dimensions
        self.config = config
        self.tokenizer = tokenizer
        self.spectrogram = LogMelSpectrogram(nMels: dimensions.nMels)
        self.encoder = encoder
        self.decoder = decoder
    }

    /// Loads a CTranslate2 Whisper directory as faster-whisper does: model.bin (float32,
    /// float16 or int8 weights; mapped, each tensor kept or converted as the compute type
    /// needs: docs/engine.md §9), config.json, vocabulary.json or
    /// vocabulary.txt, preprocessor_config.json when present (the mel bins); tokenizer.json
    /// is optional, needed for encoding prompts and for faster-whisper's suppress list.
    /// - Parameters:
    ///   - threads: the engine's threads; ≤ 0 = all cores.
    ///   - computeType: float32 (exact), int8 or bfloat16 linear layers (docs/engine.md §9).
    ///   - kernelLevel: the kernels' instruction set; nil = the CPU's, lowered by `DROPSCRIBE_CPU`.
    public static func load(directory: String, threads: Int = 0, computeType: ComputeType = .float32,
                            kernelLevel: KernelLevel? = nil) throws(WhisperError) -> WhisperModel {
        let level: KernelLevel
        if let kernelLevel { level = min(kernelLevel, KernelLevel.detected) } else { level = try KernelLevel.fromEnvironment() }
        BLAS.setThreads(threads)
        let files = try ModelFiles(directory: directory)
        let bin = try ModelBinary.parse(try MappedFile(path: files.modelBinPath), path: files.modelBinPath)
        guard bin.binaryVersion < 2 || bin.specName == "WhisperSpec" else {
            throw .notWhisperModel(path: files.modelBinPath, spec: bin.specName)
        }
        let type = effectiveComputeType(computeType, level: level)
        let (dims, encoder, decoder) = try WeightBuilder(bin: bin, path: files.modelBinPath, computeType: type, level: level).build()
        var config = try files.config()
        let vocab = try files.vocabulary()
        guard vocab.count == dims.vocabSize else {
            throw .badConfig(path: files.vocabularyPath, reason: "\(vocab.count) tokens, model has \(dims.vocabSize)")
        }
        if let mels = try files.melBins(), mels != dims.nMels {
            throw .badConfig(path: files.preprocessorConfigPath,
                             reason: "feature_size \(mels), but model.bin's encoder takes \(dims.nMels) mel bins")
        }
        for id in config.langIds where id < 0 || id >= dims.vocabSize {
            throw .badConfig(path: files.configPath, reason: "lang id \(id) out of range")
        }
        let merges = try files.merges()
        let tokenizer = try Tokenizer(vocabulary: vocab, merges: merges, path: files.vocabularyPath,
                                      languageIds: config.langIds.isEmpty ? nil : config.langIds)
        for id in config.suppressIds + config.suppressIdsBegin where id < 0 || id >= dims.vocabSize {
            throw .badConfig(path: files.configPath, reason: "suppress id \(id) out of range")
        }
        // faster-whisper computes the list from the tokenizer (docs/engine.md §6.4); without
        // merges it cannot encode the symbols, and config.json's list is the converter's.
        if !merges.isEmpty { config.suppressIds = SuppressTokens.fasterWhisper(tokenizer) }
        return WhisperModel(directory: directory, dimensions: dims, config: config, tokenizer: tokenizer,
                            encoder: encoder, decoder: decoder, computeType: type, kernelLevel: level,
                            computeTypeNote: type == computeType ? nil
                                : "compute_type \(computeType.rawValue) needs avx512-bf16, kernels are \(level): running float32")
    }

    static func readBytes(_ path: String) throws(WhisperError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        var failure: String? = nil
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buf, initialized in
            var done = 0
            while done < size {
                let n = read(fd, buf.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { if n < 0 { failure = String(cString: strerror(errno)) }; break }
                done += n
            }
            initialized = done
        }
        if let failure { throw .unreadable(path: path, reason: failure) }
        return bytes
    }
}
