import Foundation
import Testing
@testable import Whisper

/// A scripted model: the next-token log-probabilities depend only on the last token.
struct ScriptedModel: StepModel {
    let v: Int
    let table: [Int: [Int: Float]]   // last token → (token → probability); rest uniform tiny
    var reorders: [[Int]] = []
    var batchSizes: [Int] = []

    func row(after tok: Int) -> [Float] {
        var r = [Float](repeating: logf(1e-6), count: v)
        for (t, p) in table[tok] ?? [:] { r[t] = logf(p) }
        return r
    }
    mutating func step(_ tokens: [Int]) -> [[Float]] {
        batchSizes.append(tokens.count)
        return tokens.map { row(after: $0) }
    }
    mutating func reorder(_ origins: [Int]) { reorders.append(origins) }
}

/// What a logit processor was shown (it runs on the engine's threads, hence the lock).
final class Seen: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [[Int]] = []
    func append(_ tokens: [Int]) { lock.lock(); seen.append(tokens); lock.unlock() }
    var all: [[Int]] { lock.lock(); defer { lock.unlock() }; return seen }
}

@Suite struct SearchTests {
    let eot = 0
    let noop: SearchAlgorithms.Process = { _, _, _ in }

    @Test func greedyTakesArgmaxAndCountsEot() {
        var m = ScriptedModel(v: 8, table: [1: [2: 0.6, 3: 0.4], 2: [4: 0.9, 0: 0.1], 4: [0: 0.8, 5: 0.2]])
        let h = SearchAlgorithms.beamSearch(&m, first: 1, maxNew: 10, beam: 1, patience: 1, eot: eot, process: noop, rawStep0: { _ in })
        #expect(h.count == 1)
        #expect(h[0].tokens == [2, 4])
        let expected = logf(0.6) + logf(0.9) + logf(0.8)
        #expect(abs(h[0].logprobSum - expected) < 1e-3)
    }

    @Test func greedyLastStepFinishesWithToken() {
        var m = ScriptedModel(v: 8, table: [1: [2: 0.9], 2: [3: 0.9], 3: [2: 0.9]])
        let h = SearchAlgorithms.beamSearch(&m, first: 1, maxNew: 3, beam: 1, patience: 1, eot: eot, process: noop, rawStep0: { _ in })
        #expect(h[0].tokens == [2, 3, 2])
    }

    @Test func beamStepZeroExpandsOneHypothesisAndRefillsFinishedSlots() {
        // After token 1: eot is the best candidate (finished at step 0), others continue.
        var table: [Int: [Int: Float]] = [1: [0: 0.5, 2: 0.2, 3: 0.1, 4: 0.08, 5: 0.06, 6: 0.04, 7: 0.02]]
        for t in 2...7 { table[t] = [0: 0.9] }
        var m = ScriptedModel(v: 10, table: table)
        let h = SearchAlgorithms.beamSearch(&m, first: 1, maxNew: 20, beam: 2, patience: 1, eot: eot, process: noop, rawStep0: { _ in })
        // Step 0: candidates (4 = 2·beam): 0, 2, 3, 4. Slot 0 is eot → finished with [] and refilled by rank 2 (token 3).
        #expect(m.batchSizes.first == 1)
        #expect(m.reorders.first == [0, 0])
        #expect(h.first?.tokens == [])
        #expect(abs(h[0].logprobSum - logf(0.5)) < 1e-4)
        // Step 1: both beams (2 and 3) end with eot → 3 finished ≥ round(2·1): stop after the whole step.
        #expect(h.count == 3)
        #expect(Set(h.dropFirst().map(\.tokens)) == [[2], [3]])
        // CT2 ranks by score / len: the empty hypothesis scores −inf.
        let best = h.max { $0.logprobSum / Float($0.tokens.count) < $1.logprobSum / Float($1.tokens.count) }!
        #expect(best.tokens == [2])
    }

    /// The per-hypothesis lists merged must be the list one serial scan of every row
    /// gives: ties (many here, the values are coarse) in (hypothesis, token) order, and
    /// the vector prefilter of the scan skipping nothing that belongs in it.
    @Test(arguments: [1, 2, 5, 8])
    func bestCandidatesAreTheKBestOfAllRowsInScanOrder(hypotheses: Int) {
        var rng = WhisperRNG(seed: UInt64(hypotheses))
        let width = 1003   // not a multiple of 8: the scan's tail runs too
        let rows = (0..<hypotheses).map { _ in (0..<width).map { _ in Float(Int(rng.nextUnit() * 40)) / 4 } }
        let scores = (0..<hypotheses).map { _ in -Float(Int(rng.nextUnit() * 8)) / 4 }
        let k = 2 * hypotheses
        let filter: SearchAlgorithms.Process = { row, _, generated in row[generated.count] = LogitFilters.disabled }
        let alive = (0..<hypotheses).map { Array(repeating: 7, count: $0) }
        let got = SearchAlgorithms.bestCandidates(rows, step: 1, alive: alive, scores: scores, k: k, process: filter)

        var all: [(Float, Int, Int)] = []
        for (b, original) in rows.enumerated() {
            var row = original
            filter(&row, 1, alive[b])
            let lse = LogitFilters.logSumExp(row, 0..<row.count)
            all += row.enumerated().map { (($0.element - lse) + scores[b], b, $0.offset) }
        }
        // Sorted by score, then by position in the scan: the serial insertion's order.
        let expected = all.enumerated().sorted { $0.element.0 != $1.element.0 ? $0.element.0 > $1.element.0 : $0.offset < $1.offset }
            .prefix(k).map(\.element)
        #expect(got.count == k)
        #expect(got.map(\.score) == expected.map(\.0))
        #expect(got.map(\.hypothesis) == expected.map(\.1))
        #expect(got.map(\.token) == expected.map(\.2))
        #expect(!got.contains { $0.hypothesis == $0.token && $0.token < hypotheses }, "the filter ran on each hypothesis's row")
    }

    @Test func patienceWaitsForMoreFinished() {
        var table: [Int: [Int: Float]] = [1: [2: 0.5, 3: 0.3, 4: 0.2]]
        table[2] = [0: 0.5, 5: 0.5]; table[3] = [0: 0.9]; table[4] = [0: 0.9]; table[5] = [0: 0.9]
        var m1 = ScriptedModel(v: 8, table: table)
        let h1 = SearchAlgorithms.beamSearch(&m1, first: 1, maxNew: 20, beam: 2, patience: 1, eot: eot, process: noop, rawStep0: { _ in })
        var m2 = ScriptedModel(v: 8, table: table)
        let h2 = SearchAlgorithms.beamSearch(&m2, first: 1, maxNew: 20, beam: 2, patience: 2, eot: eot, process: noop, rawStep0: { _ in })
        #expect(h1.count >= 2)
        #expect(h2.count >= 4)
        #expect(m2.batchSizes.count > m1.batchSizes.count)
    }

    @Test func lastStepFinishesEveryBeam() {
        var table: [Int: [Int: Float]] = [:]
        for t in 1...6 { table[t] = [t % 6 + 1: 0.5, (t + 1) % 6 + 1: 0.4] }
        var m = ScriptedModel(v: 8, table: table)
        let h = SearchAlgorithms.beamSearch(&m, first: 1, maxNew: 3, beam: 2, patience: 1, eot: eot, process: noop, rawStep0: { _ in })
        #expect(m.batchSizes == [1, 2, 2])
        #expect(h.count == 2)
        #expect(h.allSatisfy { $0.tokens.count == 3 })
    }

    @Test func processorIsAppliedWithGeneratedTokens() {
        var m = ScriptedModel(v: 8, table: [1: [2: 0.9, 3: 0.1], 2: [2: 0.9, 0: 0.1], 3: [0: 0.9]])
        let seen = Seen()
        let h = SearchAlgorithms.beamSearch(&m, first: 1, maxNew: 10, beam: 1, patience: 1, eot: eot,
                                            process: { row, step, gen in
                                                seen.append(gen)
                                                if step == 0 { row[2] = LogitFilters.disabled }
                                            }, rawStep0: { _ in })
        #expect(h[0].tokens == [3])
        #expect(seen.all == [[], [3]])
    }

    @Test func samplingIsDeterministicForASeed() {
        let table: [Int: [Int: Float]] = [1: [2: 0.5, 3: 0.5], 2: [0: 0.5, 3: 0.5], 3: [0: 0.5, 2: 0.5]]
        func run(_ seed: UInt64) -> [[Int]] {
            var m = ScriptedModel(v: 6, table: table)
            var rng = WhisperRNG(seed: seed)
            return SearchAlgorithms.sample(&m, first: 1, maxNew: 20, temperature: 1, copies: 5, eot: eot, rng: &rng,
                                           process: { _, _, _ in }, rawStep0: { _ in }).map(\.tokens)
        }
        #expect(run(42) == run(42))
        #expect(run(42).count == 5)
        var a = WhisperRNG(seed: 3)
        _ = a.next()
        let saved = try! JSONEncoder().encode(a)
        var b = try! JSONDecoder().decode(WhisperRNG.self, from: saved)
        #expect(a.next() == b.next())
    }

    @Test func segmentSplitting() {
        let t = 100
        // Consecutive timestamps, no single ending: seek by the last slice's end timestamp.
        let s1 = WindowSplit.split(tokens: [100, 1, 2, 110, 110, 3, 120, 120, 4], timestampBegin: t, timeOffset: 10, segmentSize: 3000)
        #expect(s1.pieces.map(\.tokens) == [[100, 1, 2, 110], [110, 3, 120]])
        #expect(s1.pieces[0].start == 10 && abs(s1.pieces[0].end - 10.2) < 1e-12)
        #expect(s1.seekAdvance == 40)
        #expect(!s1.singleTimestampEnding)
        // Single timestamp ending: the last slice runs to the end, seek += segment_size.
        let s2 = WindowSplit.split(tokens: [100, 1, 110, 110, 2, 130], timestampBegin: t, timeOffset: 0, segmentSize: 2500)
        #expect(s2.pieces.map(\.tokens) == [[100, 1, 110], [110, 2, 130]])
        #expect(s2.seekAdvance == 2500 && s2.singleTimestampEnding)
        // No consecutive timestamps: one segment to the last timestamp.
        let s3 = WindowSplit.split(tokens: [100, 1, 2, 150], timestampBegin: t, timeOffset: 5, segmentSize: 800)
        #expect(s3.pieces.count == 1 && s3.pieces[0].end == 6 && s3.seekAdvance == 800)
        let s4 = WindowSplit.split(tokens: [100, 1, 2], timestampBegin: t, timeOffset: 0, segmentSize: 800)
        #expect(s4.pieces[0].end == 8)
    }
}

/// The self-attention cache after beam reorders: every hypothesis must see exactly
/// its origin's history, whether the reorder was a permutation (no copy), a
/// duplicate origin (one copy into a free row), a growth or a shrink of the batch,
/// and after the rows grew to hold more positions (`reserve`).
@Suite struct SelfAttentionCacheTests {
    @Test func eachHypothesisKeepsItsOriginsHistoryThroughReordersAndGrowth() {
        let d = 6, limit = 150
        var cache = SelfAttentionCache(layers: 2, batch: 1, capacity: limit, d: d, heads: 2)
        #expect(cache.capacity == SelfAttentionCache.growthStep, "rows start small, not at the limit")
        // Head-major rows: a head's positions are contiguous, the next head follows its capacity.
        #expect(cache.index(slot: 0, position: 1, feature: 0) == 3 && cache.index(slot: 0, position: 0, feature: 3) == 3 * 64)
        #expect(cache.index(slot: 1, position: 0, feature: 0) == 64 * d)
        var histories: [[Float]] = [[]]
        var rng = WhisperRNG(seed: 9)
        let plans: [[Int]] = [[0, 0, 0, 0, 0], [0, 1, 2, 3, 4], [1, 0, 3, 2, 4], [0, 0, 1, 1, 2], [4, 4, 4, 4, 4],
                              [2, 3, 4, 0, 1], [0, 1, 2], [2, 2, 1], [0, 1, 2, 2, 0]]
        var capacities: Set<Int> = []
        for step in 0..<limit {
            let origins = plans[step % plans.count].map { min($0, cache.batch - 1) }
            // Append one token per hypothesis, then reorder.
            cache.reserve(cache.length + 1)
            capacities.insert(cache.capacity)
            // Each layer's QKV rows, one per hypothesis: a query to ignore, then K and V.
            let newest = (0..<cache.batch).map { Float(step * 100 + $0) + Float(rng.nextUnit()) }
            for l in 0..<2 {
                var qkv: [Float] = []
                for value in newest {
                    let key = (0..<d).map { value + Float(l * 10 + $0) }
                    qkv += [Float](repeating: .nan, count: d) + key + key.map { -$0 }
                }
                qkv.withUnsafeBufferPointer { cache.append(layer: l, qkv: $0.baseAddress!, count: 1) }
            }
            for b in 0..<cache.batch { histories[b].append(newest[b]) }
            cache.advance(1)
            cache.reorder(origins)
            histories = origins.map { histories[$0] }
            #expect(Set(cache.slots).count == cache.batch, "each hypothesis has its own row")
            for b in 0..<cache.batch {
                for l in 0..<2 {
                    // Head by head, each head's positions in order.
                    let at = (0..<cache.heads).flatMap { h in
                        (0..<cache.length).flatMap { p in
                            (0..<cache.headDim).map { cache.index(slot: cache.slots[b], position: p, feature: h * cache.headDim + $0) }
                        }
                    }
                    let keys = at.map { cache.keys[l][$0] }, values = at.map { cache.values[l][$0] }
                    let expected = (0..<cache.heads).flatMap { h in
                        histories[b].flatMap { v in (0..<cache.headDim).map { v + Float(l * 10 + h * cache.headDim + $0) } }
                    }
                    #expect(keys == expected, "step \(step) hypothesis \(b) layer \(l)")
                    #expect(values == expected.map { -$0 }, "step \(step) hypothesis \(b) layer \(l)")
                }
            }
        }
        #expect(capacities == [64, 128, 150], "the rows grew a step at a time, up to the limit")
    }
}
