import Foundation
import WhisperKernels

/// Something that produces one row of raw logits per alive hypothesis.
///
/// Exists so the search bookkeeping can be tested against a scripted fake
/// instead of the network.
protocol StepModel {
    /// Feeds one token per alive hypothesis; returns their raw logits rows.
    mutating func step(_ tokens: [Int]) -> [[Float]]
    /// Continues with hypotheses i ← origins[i].
    mutating func reorder(_ origins: [Int])
}

/// The real decoder as a StepModel.
struct DecoderStepper: StepModel {
    let model: WhisperModel
    var cache: SelfAttentionCache
    let cross: CrossAttentionCache

    mutating func step(_ tokens: [Int]) -> [[Float]] {
        if cache.batch != tokens.count { cache.reorder(Array(repeating: 0, count: tokens.count)) }
        let h = model.decoderForward(tokens: tokens, count: 1, cache: &cache, cross: cross)
        let lg = model.logits(h)
        let v = lg.cols
        return (0..<lg.rows).map { Array(lg.storage[$0 * v ..< ($0 + 1) * v]) }
    }

    mutating func reorder(_ origins: [Int]) { cache.reorder(origins) }
}

/// One possible next token of a beam hypothesis: its cumulative log-probability, which
/// hypothesis it extends and the token.
///
/// Exists so the search reads `score`, `hypothesis` and `token` rather than tuple
/// positions; it holds the same three fields a tuple would, at no cost in the hot path.
struct BeamCandidate: Equatable, Sendable {
    var score: Float
    var hypothesis: Int
    var token: Int
}

/// CTranslate2's search strategies (docs/engine.md §6.5–§6.6), independent of the network.
enum SearchAlgorithms {
    /// The logit filters of one hypothesis at one step. Sendable because a beam's
    /// hypotheses are filtered on the engine's threads side by side.
    typealias Process = @Sendable (_ row: inout [Float], _ step: Int, _ generated: [Int]) -> Void

    /// Beam search with CT2 bookkeeping; beam 1 is greedy argmax.
    /// Returns every finished hypothesis (tokens without eot, cumulative log-prob incl. eot).
    static func beamSearch<S: StepModel>(_ model: inout S, first: Int, maxNew: Int, beam: Int, patience: Float, eot: Int,
                                         process: Process, rawStep0: ([Float]) -> Void) -> [Hypothesis] {
        var run = BeamRun(first: first, maxNew: maxNew, beam: beam, patience: patience, eot: eot)
        while !run.isDone {
            let rows = model.step(run.inputs)
            if run.step == 0 { rawStep0(rows[0]) }
            // Greedy keeps its one row in place; a beam continues from its origins.
            if let origins = run.consume(rows, process: process), beam > 1 { model.reorder(origins) }
        }
        return run.finished
    }

    /// The k best candidates of one step, sorted descending, ties in
    /// (hypothesis, token) order: each row filtered, log-softmaxed and scanned as CT2 does.
    ///
    /// The hypotheses' rows are independent, so they are filtered and scanned on the
    /// engine's threads, each into its own k best; the merge keeps the k best of those
    /// lists in the same order, which is the list a scan of every row in turn would give
    /// (a candidate beaten by k others in its own row is beaten by them overall).
    static func bestCandidates(_ rows: consuming [[Float]], step: Int, alive: [[Int]], scores: [Float], k: Int,
                               process: Process) -> [BeamCandidate] {
        var lists = [[BeamCandidate]](repeating: [], count: rows.count)
        let parts = min(rows.count, BLAS.threads)
        rows.withUnsafeMutableBufferPointer { rowBuffer in
            lists.withUnsafeMutableBufferPointer { listBuffer in
                let (rowsOut, listsOut) = (SharedPointer(rowBuffer.baseAddress!), SharedPointer(listBuffer.baseAddress!))
                Parallel.split(parts) { part in
                    for b in Parallel.range(part, of: parts, count: alive.count) {
                        process(&rowsOut.raw[b], step, alive[b])
                        // log_softmax folded into the scan: (x − lse) + score, as CT2 rounds it.
                        let row = rowsOut.raw[b]
                        let lse = LogitFilters.logSumExp(row, 0..<row.count)
                        insertTopK(&listsOut.raw[b], k: k, values: row, subtract: lse, add: scores[b], beam: b)
                    }
                }
            }
        }
        if lists.count == 1 { return lists[0] }
        // Concatenated in hypothesis order, so the stable sort breaks ties as the serial scan did.
        let merged = lists.joined().enumerated().sorted { a, b in
            a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
        }
        return merged.prefix(k).map(\.element)
    }

    /// Keeps the k best ((value − subtract) + add) of `values` in `top`, sorted descending (ties: earlier first).
    static func insertTopK(_ top: inout [BeamCandidate], k: Int, values: [Float], subtract: Float = 0, add: Float,
                           beam: Int) {
        guard k > 0 else { return }
        values.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                if top.count == k {
                    // Only a value above the last kept one can enter the list.
                    i = firstAbove(p, from: i, subtract: subtract, add: add, threshold: top[k - 1].score)
                    if i == p.count { break }
                }
                let s = (p[i] - subtract) + add
                var pos = top.count
                while pos > 0 && s > top[pos - 1].score { pos -= 1 }
                top.insert(BeamCandidate(score: s, hypothesis: beam, token: i), at: pos)
                if top.count > k { top.removeLast() }
                i += 1
            }
        }
    }

    /// The first i ≥ from with (p[i] − subtract) + add > threshold, or p.count.
    private static func firstAbove(_ p: UnsafeBufferPointer<Float>, from: Int, subtract: Float, add: Float,
                                   threshold: Float) -> Int {
        if CPUFeatures.avx2FMA {
            return VectorKernelsAVX2.firstAbove(p.baseAddress!, from: from, count: p.count, subtract: subtract, add: add,
                                                threshold: threshold)
        }
        var i = from
        while i < p.count && !((p[i] - subtract) + add > threshold) { i += 1 }
        return i
    }

    /// Sampling at temperature > 0: `copies` independent hypotheses, batched.
    static func sample<S: StepModel>(_ model: inout S, first: Int, maxNew: Int, temperature: Float, copies: Int, eot: Int,
                                     rng: inout WhisperRNG, process: Process, rawStep0: ([Float]) -> Void) -> [Hypothesis] {
        var alive = Array(repeating: [Int](), count: copies)
        var scores = [Float](repeating: 0, count: copies)
        var active = Array(0..<copies)
        var inputs = Array(repeating: first, count: copies)
        var finished = [Hypothesis?](repeating: nil, count: copies)
        for step in 0..<maxNew {
            let rows = model.step(inputs)
            let isLast = step + 1 == maxNew
            var keepRows: [Int] = [], nextInputs: [Int] = [], nextActive: [Int] = []
            for (r, c) in active.enumerated() {
                var row = rows[r]
                if step == 0 && r == 0 { rawStep0(row) }
                process(&row, step, alive[c])
                let lp = LogitFilters.logSoftmax(row)
                let tok = sampleIndex(lp, temperature: temperature, rng: &rng)
                scores[c] += lp[tok]
                if tok == eot || isLast {
                    finished[c] = Hypothesis(tokens: tok == eot ? alive[c] : alive[c] + [tok], logprobSum: scores[c])
                } else {
                    alive[c].append(tok)
                    keepRows.append(r); nextInputs.append(tok); nextActive.append(c)
                }
            }
            if keepRows.isEmpty { break }
            if keepRows.count != active.count || step == 0 { model.reorder(keepRows) }
            active = nextActive
            inputs = nextInputs
        }
        return finished.compactMap { $0 }
    }

    /// Draws an index from softmax(logp / temperature).
    static func sampleIndex(_ logp: [Float], temperature: Float, rng: inout WhisperRNG) -> Int {
        var m = -Float.infinity
        for x in logp where x > m { m = x }
        var w = [Double](repeating: 0, count: logp.count)
        var total = 0.0
        for i in logp.indices {
            let e = Double(expf((logp[i] - m) / temperature))
            w[i] = e
            total += e
        }
        var u = rng.nextUnit() * total
        for i in w.indices {
            u -= w[i]
            if u < 0 && w[i] > 0 { return i }
        }
        return w.lastIndex(where: { $0 > 0 }) ?? 0
    }
}
