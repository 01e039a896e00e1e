/// Every way loading the Silero VAD model can fail, each naming the file, so a job
/// with `vad_filter` on fails with a message that says which model file is wrong and how.
public enum VADError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file could not be read at all.
    case unreadable(path: String, reason: String)
    /// The protobuf structure is broken (truncated field, bad wire type, length past the end).
    case malformed(path: String, offset: Int, reason: String)
    /// A weight the Silero v6 16 kHz graph needs is absent.
    case missingTensor(path: String, name: String)
    /// A weight has a shape other than Silero v6's.
    case badShape(path: String, name: String, expected: [Int], found: [Int])
    /// A weight is stored in a type other than float32, or outside the file.
    case unsupportedTensor(path: String, name: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read the VAD model: \(reason)"
        case let .malformed(path, offset, reason): return "\(path): malformed ONNX file at byte \(offset): \(reason)"
        case let .missingTensor(path, name): return "\(path): not a Silero VAD v6 model: missing tensor \(name)"
        case let .badShape(path, name, e, f): return "\(path): tensor \(name) has shape \(f), Silero VAD v6's is \(e)"
        case let .unsupportedTensor(path, name, reason): return "\(path): tensor \(name): \(reason)"
        }
    }
}
