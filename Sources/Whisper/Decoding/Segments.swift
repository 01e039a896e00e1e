/// One transcribed segment (faster-whisper's Segment without words).
///
/// Exists as the engine's output unit; the Transcripts target maps it to its own type.
public struct Segment: Sendable, Codable, Equatable {
    public var id: Int
    /// The seek (frame) of the window that produced it.
    public var seek: Int
    public var start: Double
    public var end: Double
    /// Text with its leading space, as faster-whisper returns it.
    public var text: String
    public var tokens: [Int]
    public var temperature: Float
    public var avgLogprob: Float
    public var compressionRatio: Float
    public var noSpeechProb: Float
    /// The segment's words with their times; nil unless word timestamps are on.
    public var words: [Word]? = nil
}

/// Segment split of one window's tokens and the next seek (docs/engine.md §7.4).
///
/// Exists as a pure function so the long-form loop and tests share it.
public struct WindowSplit: Sendable, Equatable {
    /// One future segment: its time span and tokens (timestamps included).
    public struct Piece: Sendable, Equatable {
        public var start: Double
        public var end: Double
        public var tokens: [Int]
    }
    public var pieces: [Piece]
    /// Frames to advance seek by.
    public var seekAdvance: Int
    public var singleTimestampEnding: Bool

    /// - Parameters:
    ///   - tokens: the window's tokens, without eot.
    ///   - timestampBegin: T.
    ///   - timeOffset: seek · 0.01.
    ///   - segmentSize: the window's frame count.
    ///   - segmentDuration: a segment without timestamps lasts this long (default segmentSize · 0.01 s).
    public static func split(tokens: [Int], timestampBegin t: Int, timeOffset: Double, segmentSize: Int,
                             segmentDuration: Double? = nil) -> WindowSplit {
        let n = tokens.count
        let singleEnd = n >= 2 && tokens[n - 2] < t && tokens[n - 1] >= t
        var cons: [Int] = []
        if n >= 2 { for i in 1..<n where tokens[i] >= t && tokens[i - 1] >= t { cons.append(i) } }
        var pieces: [Piece] = []
        var advance = segmentSize
        if !cons.isEmpty {
            var slices = cons
            if singleEnd { slices.append(n) }
            var last = 0
            for cur in slices {
                let sl = Array(tokens[last..<cur])
                let s = timeOffset + Double(sl[0] - t) * 0.02
                let e = timeOffset + Double(sl[sl.count - 1] - t) * 0.02
                pieces.append(Piece(start: s, end: e, tokens: sl))
                last = cur
            }
            if !singleEnd { advance = (tokens[last - 1] - t) * 2 }
        } else {
            var duration = segmentDuration ?? Double(segmentSize) * 0.01
            let ts = tokens.filter { $0 >= t }
            if let lastTs = ts.last, lastTs != t { duration = Double(lastTs - t) * 0.02 }
            pieces.append(Piece(start: timeOffset, end: timeOffset + duration, tokens: tokens))
        }
        return WindowSplit(pieces: pieces, seekAdvance: advance, singleTimestampEnding: singleEnd)
    }
}
