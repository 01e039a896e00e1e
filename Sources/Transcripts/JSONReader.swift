#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads a document written by `writeJSON(_:)` (or any JSON object with the
/// same keys; `text` and unknown keys are ignored, `words` may be absent,
/// `null` numbers read as NaN) back into a `Transcript`.
///
/// - Throws: `DecodingError` when the bytes are not such a document.
public func decodeTranscriptJSON(_ data: some Sequence<UInt8>) throws -> Transcript {
    try JSONDecoder().decode(Transcript.self, from: Data(data))
}

/// `decodeTranscriptJSON(_:)` for a string.
public func decodeTranscriptJSON(_ json: String) throws -> Transcript {
    try decodeTranscriptJSON(Array(json.utf8))
}
