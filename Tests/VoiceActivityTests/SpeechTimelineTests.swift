import Foundation
import Testing
@testable import VoiceActivity

/// The chunk filter and the timestamp map against faster-whisper's `collect_chunks` and
/// `SpeechTimestampsMap` (expected values printed by faster-whisper 1.2.1 for these chunks).
@Suite struct SpeechTimelineTests {
    let chunks = [SpeechChunk(start: 16000, end: 32000), SpeechChunk(start: 48000, end: 64000), SpeechChunk(start: 64000, end: 70001)]

    @Test func filterKeepsTheChunksSamplesWhateverTheSlicing() {
        let signal = (0..<80000).map(Float.init)
        var expected: [Float] = []
        for c in chunks { expected += signal[c.start..<c.end] }
        #expect(expected.count == 38001 && expected[15999] == 31999 && expected[16000] == 48000)
        for step in [1, 511, 16000, 30000, 80000] {
            var filter = SpeechFilter(chunks: chunks)
            var kept: [Float] = []
            var at = 0
            while at < signal.count {
                kept += filter.keep(Array(signal[at..<min(signal.count, at + step)]))
                at += step
            }
            #expect(kept == expected, "slices of \(step)")
            #expect(filter.speechSamples == 38001)
        }
    }

    @Test func mapRestoresOriginalTimesAsFasterWhisper() {
        let map = SpeechTimestampsMap(chunks: chunks)
        let cases: [(Double, Bool, Int, Double)] = [
            (0.5, false, 0, 1.5), (1.0, true, 0, 2.0), (1.0, false, 1, 3.0), (2.675, false, 2, 4.67),
            (2.0, true, 1, 4.0), (1.99999, false, 1, 4.0), (2.3, true, 2, 4.3), (5.0, false, 2, 7.0),
        ]
        for (t, isEnd, index, original) in cases {
            #expect(map.chunkIndex(t, isEnd: isEnd) == index, "chunk of \(t) (end: \(isEnd))")
            #expect(map.originalTime(t, isEnd: isEnd) == original, "original time of \(t) (end: \(isEnd))")
        }
    }

    @Test func paddingSplitsShortGapsAndClampsToTheSignal() {
        // Pad 6400 samples (400 ms): a 1001-sample gap is split 500/501 (Python's //), the ends clamp.
        let raw = [SpeechChunk(start: 3000, end: 20000), SpeechChunk(start: 21001, end: 40000), SpeechChunk(start: 60000, end: 79000)]
        let padded = SpeechTimestamps.padded(raw, sampleCount: 80000, pad: 6400)
        #expect(padded == [SpeechChunk(start: 0, end: 20500), SpeechChunk(start: 20501, end: 46400), SpeechChunk(start: 53600, end: 80000)])
        #expect(SpeechTimestamps.floorDivide(-7, 2) == -4 && SpeechTimestamps.floorDivide(7, 2) == 3)
    }

    @Test func noSpeechInSilenceAndOptionsAreChecked() {
        #expect(SpeechTimestamps.chunks(probabilities: [Float](repeating: 0.01, count: 100), sampleCount: 51000, options: VADOptions()).isEmpty)
        // Speech to the very end is closed at the signal's length.
        let tail = SpeechTimestamps.chunks(probabilities: [0, 0, 0.9, 0.9], sampleCount: 2000, options: VADOptions())
        #expect(tail == [SpeechChunk(start: 0, end: 2000)])
        var o = VADOptions()
        #expect(o.problem == nil)
        o.threshold = 1.5
        #expect(o.problem?.contains("vad.threshold") == true)
    }
}
