/// The longest file name (in bytes) Linux file systems accept (`NAME_MAX`).
public let maximumFileNameBytes = 255

/// The name of the transcript file for a source file, in the same directory
/// as any other output: the source's complete name, a dot, the format's
/// extension — `talk.mp3` → `talk.mp3.srt`.
///
/// Rules:
/// - The whole source name is kept (openai-whisper drops the extension,
///   which makes `talk.mp3` and `talk.wav` collide); any bytes pass through —
///   spaces, newlines, leading dashes, non-UTF-8 — except `/` and NUL, which
///   cannot occur in a file name and become `_` should a caller pass them.
///   An empty name becomes `_`.
/// - When `name.ext` would exceed 255 bytes (`maximumFileNameBytes`), the name
///   is cut and marked: `PREFIX~HHHHHHHHHHHHHHHH.ext`, where the 16 lowercase
///   hex digits are the 64-bit FNV-1a hash of the complete (sanitised) source
///   name, and PREFIX is the longest start of the name that fits in 255 bytes
///   total, moved back over up to 3 UTF-8 continuation bytes (`10xxxxxx`) so
///   that a valid UTF-8 name is never cut inside a character (the result is
///   then valid UTF-8 too); a name that is not UTF-8 loses at most 3 more
///   bytes. Distinct long names sharing a prefix thus get distinct outputs
///   (up to a 64-bit hash collision), and the result is deterministic.
/// - A name that already ends like a cut one (`~` and 16 lowercase hex digits) is
///   marked the same way even when it fits (its start, `~`, the hash of the whole
///   name), so an upload named like another file's cut output cannot overwrite it.
/// - The result is a single path component: join it to the output directory;
///   never pass it to a command line without `--` (it may start with `-`).
public func outputFileName(forSource source: some Collection<UInt8>, format: OutputFormat) -> [UInt8] {
    var name = source.map { $0 == UInt8(ascii: "/") || $0 == 0 ? UInt8(ascii: "_") : $0 }
    if name.isEmpty { name = [UInt8(ascii: "_")] }
    let suffix = [UInt8(ascii: ".")] + Array(format.fileExtension.utf8)
    if name.count + suffix.count <= maximumFileNameBytes, !endsLikeHashTag(name) {
        return name + suffix
    }
    let marker = [UInt8(ascii: "~")] + hex16(fnv1a64(name))
    var cut = min(maximumFileNameBytes - suffix.count, name.count) - marker.count
    // Do not cut inside a UTF-8 sequence: back up while the byte at the cut
    // continues a sequence (10xxxxxx), at most 3 bytes.
    var backed = 0
    while cut > 0, backed < 3, name[cut] & 0b1100_0000 == 0b1000_0000 {
        cut -= 1
        backed += 1
    }
    return Array(name[..<cut]) + marker + suffix
}

/// `outputFileName(forSource:format:)` for a name held as a `String` (its
/// UTF-8 bytes), returning a `String` (truncation never splits a character's
/// UTF-8 encoding, so the result is valid UTF-8 whenever the input is).
public func outputFileName(forSource source: String, format: OutputFormat) -> String {
    String(decoding: outputFileName(forSource: Array(source.utf8), format: format), as: UTF8.self)
}

/// Whether a name ends in `~` and 16 lowercase hex digits (the mark of a cut name).
func endsLikeHashTag(_ name: [UInt8]) -> Bool {
    let tail = name.suffix(17)
    guard tail.count == 17, tail.first == UInt8(ascii: "~") else { return false }
    return tail.dropFirst().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
}

/// 64-bit FNV-1a.
func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes {
        hash ^= UInt64(b)
        hash &*= 0x0000_0100_0000_01b3
    }
    return hash
}

private func hex16(_ v: UInt64) -> [UInt8] {
    let digits = Array("0123456789abcdef".utf8)
    return (0..<16).reversed().map { digits[Int((v >> (UInt64($0) * 4)) & 0xF)] }
}
