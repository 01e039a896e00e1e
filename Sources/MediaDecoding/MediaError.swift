/// A failure to open or decode a media file. The message always names the file.
///
/// `code` says what went wrong; `isPermanent` says whether retrying the same file can help
/// (the queue sends permanent failures straight to `.failed`).
public struct MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Kind: String, Sendable {
            case notFound = "not found"
            case permissionDenied = "permission denied"
            case notMediaFile = "not a media file"
            case noAudioStream = "no audio stream"
            case unsupportedCodec = "unsupported codec"
            case nothingDecodable = "nothing decodable"
            case ioError = "I/O error"
            case timedOut = "timed out"
            case invalidArgument = "invalid argument"
            case refusedFormat = "refused container format"
        }
        let kind: Kind
        /// The file does not exist (it may have been moved away; special for the queue).
        public static let notFound = Code(kind: .notFound)
        /// The file exists but cannot be read by this user.
        public static let permissionDenied = Code(kind: .permissionDenied)
        /// No container format recognises the content (empty, text, random bytes...).
        public static let notMediaFile = Code(kind: .notMediaFile)
        /// A media file without any audio stream (e.g. video only).
        public static let noAudioStream = Code(kind: .noAudioStream)
        /// The audio codec (or its parameters) cannot be decoded by this build.
        public static let unsupportedCodec = Code(kind: .unsupportedCodec)
        /// The file opened but not a single audio sample could be decoded.
        public static let nothingDecodable = Code(kind: .nothingDecodable)
        /// Reading failed at the OS level (EIO, network file system...); may succeed later.
        public static let ioError = Code(kind: .ioError)
        /// A read did not make progress before the I/O deadline (hung network mount...).
        public static let timedOut = Code(kind: .timedOut)
        /// The caller asked for something impossible (stream index out of range, negative seek).
        public static let invalidArgument = Code(kind: .invalidArgument)
        /// A playlist, concat list, image sequence or similar format that reads other files
        /// (see `InputFormatPolicy`), not allowed by the options.
        public static let refusedFormat = Code(kind: .refusedFormat)

        public var description: String { kind.rawValue }
    }

    public var code: Code
    /// The path of the file concerned.
    public var path: String
    /// Human-readable detail (libav's error text where there is one).
    public var reason: String

    public init(_ code: Code, path: String, reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    /// True when retrying the same file cannot succeed: not media, no audio, unsupported
    /// codec, nothing decodable, invalid argument. Not found, permission denied, I/O errors and
    /// timeouts are not permanent (the file may come back, permissions may be fixed, the mount
    /// may recover); the queue decides how often to retry those.
    public var isPermanent: Bool {
        switch code.kind {
        case .notMediaFile, .noAudioStream, .unsupportedCodec, .nothingDecodable, .invalidArgument, .refusedFormat: true
        case .notFound, .permissionDenied, .ioError, .timedOut: false
        }
    }

    public var description: String {
        "\(path.debugDescriptionForMessages): \(code)" + (reason.isEmpty ? "" : ": \(reason)")
    }
}

extension String {
    /// File names may contain newlines and other control characters; keep messages on one line.
    var debugDescriptionForMessages: String {
        if allSatisfy({ !$0.isNewline && !($0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false) }) {
            return "'\(self)'"
        }
        return debugDescription
    }
}

/// Something that did not stop decoding but that the caller should know about, e.g. a
/// truncated or partly corrupt file (decoding stopped early, or bad frames were skipped).
public struct DecodeWarning: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Decoding stopped before the end of the file; `atSeconds` is where the output ends.
        case stoppedEarly = "decoding stopped early"
        /// Some packets could not be decoded and were skipped.
        case skippedCorruptData = "skipped corrupt data"
        /// Output was capped because it exceeded what the input size can plausibly hold.
        case outputCapped = "output capped"
    }
    public var kind: Kind
    /// Position in the 16 kHz output, in seconds, where it happened (first occurrence).
    public var atSeconds: Double
    public var detail: String
    public var path: String

    public var description: String {
        "\(path.debugDescriptionForMessages): \(kind.rawValue) at \(String(format2: atSeconds)) s: \(detail)"
    }
}

extension String {
    init(format2 value: Double) {
        let scaled = (value * 100).rounded() / 100
        self = "\(scaled)"
    }
}
