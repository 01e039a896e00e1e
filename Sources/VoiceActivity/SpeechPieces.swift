/// A run of consecutive speech chunks transcribed as one window in batched mode.
///
/// Exists because faster-whisper's `BatchedInferencePipeline` packs the VAD's speech
/// (`collect_chunks(max_duration=30)`) into pieces of at most 30 s and transcribes each as
/// a window of its own; a piece is a range of the concatenated speech, so a stream of the
/// speech samples (`SpeechFilter`) cuts into pieces in order.
public struct SpeechPiece: Sendable, Codable, Equatable {
    /// Its first sample in the concatenated speech.
    public var offset: Int
    /// Its length in samples.
    public var count: Int

    public init(offset: Int, count: Int) {
        self.offset = offset
        self.count = count
    }

    /// `collect_chunks`' packing: chunks join the current piece while it stays within
    /// `maxSamples`; the chunk that would overflow it starts the next. No chunks, no pieces
    /// (faster-whisper then transcribes nothing either); an empty piece, which faster-whisper
    /// makes when a first chunk alone is longer than the maximum, is left out.
    public static func pack(_ chunks: [SpeechChunk], maxSamples: Int) -> [SpeechPiece] {
        var pieces: [SpeechPiece] = []
        var offset = 0, current = 0
        for chunk in chunks {
            let length = max(0, chunk.end - chunk.start)
            if current + length > maxSamples {
                if current > 0 { pieces.append(SpeechPiece(offset: offset, count: current)) }
                offset += current
                current = length
            } else {
                current += length
            }
        }
        if current > 0 { pieces.append(SpeechPiece(offset: offset, count: current)) }
        return pieces
    }
}
