/// Every way loading or running a Whisper model can fail, each naming the file
/// involved, so the daemon can write a useful `.failed` marker.
public enum WhisperError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The directory lacks one of model.bin, config.json, a vocabulary (or is not a directory).
    /// A missing vocabulary is listed as `vocabulary.txt` and described as either file.
    case notAModelDirectory(path: String, missing: [String])
    /// A file could not be read.
    case unreadable(path: String, reason: String)
    /// model.bin ended before the structure it announced.
    case truncatedModel(path: String, offset: Int)
    /// model.bin has a binary version this loader does not know.
    case unsupportedBinaryVersion(path: String, version: UInt32)
    /// model.bin is structurally wrong (bad dtype, bad string, trailing bytes...).
    case malformedModel(path: String, reason: String)
    /// A variable the architecture needs is absent.
    case missingTensor(path: String, name: String)
    /// A variable has the wrong shape for the architecture.
    case badShape(path: String, name: String, expected: [Int], found: [Int])
    /// config.json, preprocessor_config.json, the vocabulary or tokenizer.json is unusable.
    case badConfig(path: String, reason: String)
    /// Input that the engine cannot process (e.g. too few samples).
    case invalidInput(String)
    /// A weight is stored in a type the loader does not read (bfloat16, or integers without their scale).
    case unsupportedWeightType(path: String, name: String, dtype: String)
    /// model.bin holds another CTranslate2 model than Whisper.
    case notWhisperModel(path: String, spec: String)
    /// A `language` that is not one of the model's language codes.
    case unknownLanguage(String, available: [String])

    public var description: String {
        switch self {
        case let .notAModelDirectory(path, missing):
            let names = missing.map { $0 == "vocabulary.txt" ? "vocabulary.json or vocabulary.txt" : $0 }
            return "\(path): not a CTranslate2 Whisper model directory (missing \(names.joined(separator: ", ")))"
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .truncatedModel(path, offset): return "\(path): truncated model file (ends before byte \(offset))"
        case let .unsupportedBinaryVersion(path, v): return "\(path): unsupported model binary version \(v)"
        case let .malformedModel(path, reason): return "\(path): malformed model file: \(reason)"
        case let .missingTensor(path, name): return "\(path): missing tensor \(name)"
        case let .badShape(path, name, e, f): return "\(path): tensor \(name) has shape \(f), expected \(e)"
        case let .badConfig(path, reason): return "\(path): bad configuration: \(reason)"
        case let .invalidInput(m): return "invalid input: \(m)"
        case let .unsupportedWeightType(path, name, dtype):
            return "\(path): weight \(name) is stored as \(dtype), which is not supported (float32, float16 and int8 with its scale are)"
        case let .notWhisperModel(path, spec):
            return "\(path): not a Whisper model (CTranslate2 spec \(spec.isEmpty ? "unnamed" : spec), expected WhisperSpec)"
        case let .unknownLanguage(code, available):
            return "unknown language \"\(code)\" (the model knows \(available.sorted().joined(separator: ", ")))"
        }
    }
}
