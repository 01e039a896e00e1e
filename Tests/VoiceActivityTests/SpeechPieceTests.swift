import Testing
import VoiceActivity

/// `SpeechPiece.pack`: faster-whisper's `collect_chunks(max_duration=30)` packing.
@Suite struct SpeechPieceTests {
    @Test func chunksJoinAPieceUntilTheNextWouldOverflowIt() {
        let chunks = [SpeechChunk(start: 100, end: 200_100), SpeechChunk(start: 300_000, end: 500_000),   // 200000 + 200000
                      SpeechChunk(start: 600_000, end: 700_001),                                          // + 100001 > 480000
                      SpeechChunk(start: 800_000, end: 1_280_000)]                                        // exactly 480000 alone
        let pieces = SpeechPiece.pack(chunks, maxSamples: 480_000)
        #expect(pieces == [SpeechPiece(offset: 0, count: 400_000), SpeechPiece(offset: 400_000, count: 100_001),
                           SpeechPiece(offset: 500_001, count: 480_000)])
    }

    @Test func aPieceMayHoldExactlyTheMaximumAndNoChunksGiveNoPieces() {
        let chunks = [SpeechChunk(start: 0, end: 240_000), SpeechChunk(start: 250_000, end: 490_000), SpeechChunk(start: 500_000, end: 500_512)]
        #expect(SpeechPiece.pack(chunks, maxSamples: 480_000) == [SpeechPiece(offset: 0, count: 480_000), SpeechPiece(offset: 480_000, count: 512)])
        #expect(SpeechPiece.pack([], maxSamples: 480_000).isEmpty)
        // A first chunk longer than the maximum is its own piece (faster-whisper adds an empty one before it).
        #expect(SpeechPiece.pack([SpeechChunk(start: 0, end: 500_000)], maxSamples: 480_000) == [SpeechPiece(offset: 0, count: 500_000)])
    }
}
