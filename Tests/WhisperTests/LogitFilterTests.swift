import Foundation
import Testing
@testable import Whisper

@Suite struct LogitFilterTests {
    // Toy vocabulary: text 0..9, eot 10, no_timestamps 11, T = 12, timestamps 12..19.
    let rules = LogitFilters.TimestampRules(eot: 10, noTimestamps: 11, timestampBegin: 12, maxInitialTimestampIndex: 2)
    let off = LogitFilters.disabled
    func enabled(_ l: [Float]) -> [Int] { l.indices.filter { l[$0] != LogitFilters.disabled } }

    @Test func suppressList() {
        var l = [Float](repeating: 1, count: 6)
        LogitFilters.suppress(&l, ids: [1, 3, 99, -1])
        #expect(enabled(l) == [0, 2, 4, 5])
    }

    @Test func firstStepAllowsOnlyEarlyTimestamps() {
        var l = [Float](repeating: 0, count: 20)
        LogitFilters.applyTimestampRules(&l, generated: [], rules: rules)
        #expect(enabled(l) == [12, 13, 14])
        var r2 = rules; r2.maxInitialTimestampIndex = nil
        var l2 = [Float](repeating: 0, count: 20)
        LogitFilters.applyTimestampRules(&l2, generated: [], rules: r2)
        #expect(enabled(l2) == Array(12..<20))
    }

    @Test func afterTwoTimestampsOnlyText() {
        var l = [Float](repeating: 0, count: 20)
        LogitFilters.applyTimestampRules(&l, generated: [12, 3, 14, 14], rules: rules)
        #expect(enabled(l) == Array(0...10))
    }

    @Test func afterOneTimestampNoTextAndNoEarlierTimestamp() {
        // a = 15 ≥ T, b = 3 < T: disable 0..eot−1 and T..a−1 → eot and 15..19 remain.
        var l = [Float](repeating: 0, count: 20)
        l[10] = 5   // eot dominant, so the timestamp-mass rule does not fire
        LogitFilters.applyTimestampRules(&l, generated: [12, 3, 15], rules: rules)
        #expect(enabled(l) == [10, 15, 16, 17, 18, 19])
    }

    @Test func afterTextTimestampsMustIncrease() {
        // a = 3 < T; latest timestamp 14: disable 12..14 inclusive. Text logits high: no forcing.
        var l = [Float](repeating: 0, count: 20)
        for i in 0..<10 { l[i] = 5 }
        LogitFilters.applyTimestampRules(&l, generated: [12, 4, 14, 3], rules: rules)
        #expect(enabled(l) == Array(0...10) + Array(15..<20))
    }

    @Test func timestampMassForcesTimestamp() {
        // Timestamps together outweigh the best text token: all text is disabled (eot too).
        var l = [Float](repeating: 0, count: 20)
        l[2] = 1.0
        for i in 12..<20 { l[i] = 0.5 }   // logsumexp = 0.5 + ln 8 > 1.0
        LogitFilters.applyTimestampRules(&l, generated: [12, 4], rules: rules)
        #expect(enabled(l) == Array(13..<20))
        // …but not when one text token dominates.
        var m = [Float](repeating: 0, count: 20)
        m[2] = 4.0
        for i in 12..<20 { m[i] = 0.5 }
        LogitFilters.applyTimestampRules(&m, generated: [12, 4], rules: rules)
        #expect(enabled(m).contains(2) && enabled(m).contains(13) && !enabled(m).contains(12))
    }

    @Test func noTimestampsTokenAlwaysDisabled() {
        var l = [Float](repeating: 0, count: 20)
        l[11] = 100
        LogitFilters.applyTimestampRules(&l, generated: [12, 3], rules: rules)
        #expect(l[11] == off)
    }

    @Test func logSoftmaxNormalises() {
        let lp = LogitFilters.logSoftmax([1, 2, 3, LogitFilters.disabled])
        let s = lp.reduce(0) { $0 + exp(Double($1)) }
        #expect(abs(s - 1) < 1e-6)
        #expect(exp(Double(lp[3])) == 0)
    }

    @Test func compressionRatioUsesZlibContainer() {
        // Python: len(b)/len(zlib.compress(b)) for b"aaaa…" (100 bytes) = 100/12
        let r = WhisperModel.compressionRatio(String(repeating: "a", count: 100))
        #expect(abs(r - 100.0 / 12.0) < 1e-6)
        #expect(WhisperModel.compressionRatio("  ") == 0)
    }
}
