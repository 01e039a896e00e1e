import Foundation

/// The files of a faster-whisper model folder and how each is read.
///
/// Exists because converters have written these folders differently over the years
/// (vocabulary.txt before 2023, vocabulary.json since; preprocessor_config.json only
/// for some models): the loader asks this value for contents and gets errors that name
/// the file they are about.
struct ModelFiles {
    let directory: String
    var modelBinPath: String { directory + "/model.bin" }
    var configPath: String { directory + "/config.json" }
    var preprocessorConfigPath: String { directory + "/preprocessor_config.json" }
    var tokenizerJSONPath: String { directory + "/tokenizer.json" }
    /// vocabulary.json when present, else vocabulary.txt.
    let vocabularyPath: String

    /// Checks that the folder has model.bin, config.json and a vocabulary.
    init(directory: String) throws(WhisperError) {
        self.directory = directory
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw .notAModelDirectory(path: directory, missing: ["model.bin", "config.json", "vocabulary.txt"])
        }
        let json = directory + "/vocabulary.json", txt = directory + "/vocabulary.txt"
        vocabularyPath = fm.fileExists(atPath: json) ? json : txt
        var missing = ["model.bin", "config.json"].filter { !fm.fileExists(atPath: directory + "/" + $0) }
        if !fm.fileExists(atPath: vocabularyPath) { missing.append("vocabulary.txt") }
        guard missing.isEmpty else { throw .notAModelDirectory(path: directory, missing: missing) }
    }

    func config() throws(WhisperError) -> WhisperConfig {
        try decodeJSON(WhisperConfig.self, path: configPath)
    }

    /// The tokens, index = id: vocabulary.json is a JSON array of strings; vocabulary.txt
    /// has one token per line, empty lines kept, a single trailing newline not a token.
    func vocabulary() throws(WhisperError) -> [String] {
        if vocabularyPath.hasSuffix(".json") { return try decodeJSON([String].self, path: vocabularyPath) }
        let bytes = try WhisperModel.readBytes(vocabularyPath)
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        if bytes.last == UInt8(ascii: "\n") { lines.removeLast() }
        return lines
    }

    /// The mel bins preprocessor_config.json asks for, nil without the file. Its STFT
    /// settings, when given, must be Whisper's: the front end computes no others.
    func melBins() throws(WhisperError) -> Int? {
        guard FileManager.default.fileExists(atPath: preprocessorConfigPath) else { return nil }
        let p = try decodeJSON(PreprocessorConfig.self, path: preprocessorConfigPath)
        let expected: [(String, Int?, Int)] = [("sampling_rate", p.samplingRate, LogMelSpectrogram.sampleRate),
                                               ("n_fft", p.nFFT, LogMelSpectrogram.nFFT),
                                               ("hop_length", p.hopLength, LogMelSpectrogram.hop)]
        for (key, value, whisper) in expected {
            if let value, value != whisper {
                throw .badConfig(path: preprocessorConfigPath, reason: "\(key) \(value), Whisper's is \(whisper)")
            }
        }
        guard p.featureSize == 80 || p.featureSize == 128 else {
            throw .badConfig(path: preprocessorConfigPath, reason: "feature_size \(p.featureSize), expected 80 or 128")
        }
        return p.featureSize
    }

    /// BPE merges of tokenizer.json ("a b", in rank order), empty without the file.
    func merges() throws(WhisperError) -> [String] {
        guard FileManager.default.fileExists(atPath: tokenizerJSONPath) else { return [] }
        return try decodeJSON(TokenizerJSON.self, path: tokenizerJSONPath).model.merges.map(\.text)
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, path: String) throws(WhisperError) -> T {
        let bytes = try WhisperModel.readBytes(path)
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw .badConfig(path: path, reason: "\(error)")
        }
    }
}

/// The keys of a Hugging Face `preprocessor_config.json` the front end depends on.
struct PreprocessorConfig: Decodable {
    var featureSize: Int
    var samplingRate: Int?
    var nFFT: Int?
    var hopLength: Int?

    enum CodingKeys: String, CodingKey {
        case featureSize = "feature_size", samplingRate = "sampling_rate", nFFT = "n_fft", hopLength = "hop_length"
    }
}

/// The part of a Hugging Face `tokenizer.json` the BPE encoder needs.
struct TokenizerJSON: Decodable {
    struct Model: Decodable { var merges: [Merge] }
    /// A merge, written "a b" by older tokenizers and ["a", "b"] by newer ones.
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
