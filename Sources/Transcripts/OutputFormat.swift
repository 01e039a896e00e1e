/// The transcript file formats the daemon can write, named and spelled as
/// openai-whisper's `--output_format` values (its `all` is `OutputFormat.allCases`).
public enum OutputFormat: String, CaseIterable, Sendable, Codable, Hashable {
    case txt, srt, vtt, tsv, json

    /// File name extension, without the dot (the same as the raw value).
    public var fileExtension: String { rawValue }

    /// Parses a format name from configuration. Case and surrounding
    /// whitespace are ignored, as is one leading dot (`".SRT"` → `.srt`).
    /// - Throws: `OutputFormatError.unknown` carrying the value as given.
    public init(parsing value: String) throws(OutputFormatError) {
        var name = pythonStrip(value).lowercased()
        if name.hasPrefix(".") { name.removeFirst() }
        guard let format = OutputFormat(rawValue: name) else { throw .unknown(value) }
        self = format
    }

    /// Parses a list of format names; `"all"` stands for every format. The
    /// result keeps first-seen order without duplicates.
    /// - Throws: `OutputFormatError.unknown` for the first bad value, `.empty` for no names.
    public static func parseList(_ values: [String]) throws(OutputFormatError) -> [OutputFormat] {
        var result: [OutputFormat] = []
        for value in values {
            let formats: [OutputFormat]
            if pythonStrip(value).lowercased() == "all" {
                formats = allCases
            } else {
                formats = [try OutputFormat(parsing: value)]
            }
            for f in formats where !result.contains(f) { result.append(f) }
        }
        guard !result.isEmpty else { throw .empty }
        return result
    }

    /// The file's contents in this format, as text. Subtitle options apply
    /// to srt and vtt only.
    public func render(_ transcript: Transcript, subtitleOptions: SubtitleOptions = .init()) -> String {
        switch self {
        case .txt: writeTXT(transcript)
        case .srt: writeSRT(transcript, options: subtitleOptions)
        case .vtt: writeVTT(transcript, options: subtitleOptions)
        case .tsv: writeTSV(transcript)
        case .json: writeJSON(transcript)
        }
    }

    /// `render(_:subtitleOptions:)` as the UTF-8 bytes to write to the file.
    public func renderBytes(_ transcript: Transcript, subtitleOptions: SubtitleOptions = .init()) -> [UInt8] {
        Array(render(transcript, subtitleOptions: subtitleOptions).utf8)
    }
}

/// Why a configured output format was rejected.
public enum OutputFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The value, exactly as configured, is not a known format name.
    case unknown(String)
    /// No format was given.
    case empty

    public var description: String {
        switch self {
        case .unknown(let value):
            "unknown output format \"\(value)\"; expected one of "
                + OutputFormat.allCases.map(\.rawValue).joined(separator: ", ") + " or all"
        case .empty:
            "no output format given"
        }
    }
}
