import Foundation

/// Contents of a CTranslate2 Whisper `config.json`.
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

/// A loaded Whisper model: immutable fp32 weights, configuration and tokenizer.
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
    /// How the decoder's per-step weights are stored (float32 unless asked otherwise).
    public let computeType: ComputeType
    let encoder: EncoderWeights
    let decoder: DecoderWeights

    init(directory: String, dimensions: ModelDimensions, config: WhisperConfig, tokenizer: Tokenizer,
         encoder: EncoderWeights, decoder: DecoderWeights, computeType: ComputeType = .float32) {
        self.computeType = computeType
        self.directory = directory
        self.dimensions = dimensions
        self.config = config
        self.tokenizer = tokenizer
        self.spectrogram = LogMelSpectrogram(nMels: dimensions.nMels)
        self.encoder = encoder
        self.decoder = decoder
    }

    /// Loads a CTranslate2 Whisper directory (model.bin, config.json,
    /// vocabulary.txt; tokenizer.json optional, needed only for encoding prompts).
    /// - Parameters:
    ///   - threads: the engine's threads; ≤ 0 = all cores.
    ///   - computeType: float32 (exact), or int8 copies of the decoder's per-step weights.
    public static func load(directory: String, threads: Int = 0,
                            computeType: ComputeType = .float32) throws(WhisperError) -> WhisperModel {
        BLAS.setThreads(threads)
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let required = ["model.bin", "config.json", "vocabulary.txt"]
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw .notAModelDirectory(path: directory, missing: required)
        }
        let missing = required.filter { !fm.fileExists(atPath: directory + "/" + $0) }
        guard missing.isEmpty else { throw .notAModelDirectory(path: directory, missing: missing) }

        let binPath = directory + "/model.bin"
        let bin = try ModelBinary.parse(try readBytes(binPath), path: binPath)
        let (dims, enc, dec) = try WeightBuilder(bin: bin, path: binPath).build()

        let configPath = directory + "/config.json"
        let config: WhisperConfig
        do {
            config = try JSONDecoder().decode(WhisperConfig.self, from: Data(try readBytes(configPath)))
        } catch let e as WhisperError {
            throw e
        } catch {
            throw .badConfig(path: configPath, reason: "\(error)")
        }
        let vocabPath = directory + "/vocabulary.txt"
        let vocab = try readVocabulary(vocabPath)
        guard vocab.count == dims.vocabSize else {
            throw .badConfig(path: vocabPath, reason: "\(vocab.count) tokens, model has \(dims.vocabSize)")
        }
        let tokPath = directory + "/tokenizer.json"
        var merges: [String] = []
        if fm.fileExists(atPath: tokPath) { merges = try readMerges(tokPath) }
        let tokenizer = try Tokenizer(vocabulary: vocab, merges: merges, path: vocabPath)
        for id in config.suppressIds + config.suppressIdsBegin where id < 0 || id >= dims.vocabSize {
            throw .badConfig(path: configPath, reason: "suppress id \(id) out of range")
        }
        return WhisperModel(directory: directory, dimensions: dims, config: config, tokenizer: tokenizer,
                            encoder: enc, decoder: computeType == .int8 ? dec.withInt8Copies() : dec,
                            computeType: computeType)
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

    /// One token per line, empty lines kept; a single trailing newline is not a token.
    static func readVocabulary(_ path: String) throws(WhisperError) -> [String] {
        let bytes = try readBytes(path)
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        if bytes.last == UInt8(ascii: "\n") { lines.removeLast() }
        return lines
    }

    static func readMerges(_ path: String) throws(WhisperError) -> [String] {
        struct TokJSON: Decodable {
            struct Model: Decodable { var merges: [Merge] }
            enum Merge: Decodable {
                case string(String), pair([String])
                init(from decoder: any Decoder) throws {
                    let c = try decoder.singleValueContainer()
                    if let s = try? c.decode(String.self) { self = .string(s) } else { self = .pair(try c.decode([String].self)) }
                }
                var text: String {
                    switch self {
                    case .string(let s): return s
                    case .pair(let p): return p.joined(separator: " ")
                    }
                }
            }
            var model: Model
        }
        do {
            let t = try JSONDecoder().decode(TokJSON.self, from: Data(try readBytes(path)))
            return t.model.merges.map(\.text)
        } catch let e as WhisperError {
            throw e
        } catch {
            throw .badConfig(path: path, reason: "\(error)")
        }
    }
}
