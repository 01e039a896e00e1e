import CZlib
import Foundation

/// A finished hypothesis of one search.
struct Hypothesis {
    var tokens: [Int]
    var logprobSum: Float
}

extension WhisperModel {
    /// The suppress list in use (config suppress_ids unless options override it).
    func suppressList(_ options: DecodingOptions) -> [Int] {
        guard let s = options.suppressTokens else { return config.suppressIds }
        if s.contains(-1) { return Array(Set(config.suppressIds + s.filter { $0 >= 0 })).sorted() }
        return s
    }

    /// Applies §5.4 to one row of logits at generation step `step`.
    func processLogits(_ logits: inout [Float], step: Int, generated: [Int], timestamps: Bool,
                       options: DecodingOptions, suppress: [Int]) {
        LogitFilters.suppress(&logits, ids: suppress)
        if step == 0 && options.suppressBlank { LogitFilters.suppress(&logits, ids: config.suppressIdsBegin) }
        if timestamps {
            let tk = tokenizer
            let maxIdx = options.maxInitialTimestamp.map { Int(($0 / 0.02).rounded()) }
            LogitFilters.applyTimestampRules(&logits, generated: generated,
                rules: .init(eot: tk.eot, noTimestamps: tk.noTimestamps, timestampBegin: tk.timestampBegin,
                             maxInitialTimestampIndex: maxIdx))
        }
    }

    /// CT2 `generate` for one window at one temperature (§5.3–5.5).
    /// The prompt is [sot_prev + history] + sot_sequence (+ no_timestamps).
    public func generate(cross: CrossAttentionCache, prompt: [Int], temperature: Float,
                         options: DecodingOptions, rng: inout WhisperRNG) -> WindowResult {
        let tk = tokenizer
        guard let sotIndex = prompt.firstIndex(of: tk.sot) else {
            return WindowResult(tokens: [], logprobSum: 0, score: 0, avgLogprob: 0, noSpeechProb: 0,
                                temperature: temperature, compressionRatio: 0)
        }
        var promptLength = sotIndex
        while promptLength < prompt.count, (tk.sot...tk.noTimestamps).contains(prompt[promptLength]) { promptLength += 1 }
        let timestamps = !(prompt[promptLength - 1] == tk.noTimestamps)
        let startStep = promptLength - 1
        var maxNew = min(dimensions.textContext / 2, dimensions.textContext - startStep)
        if let m = options.maxNewTokens { maxNew = min(maxNew, m) }
        maxNew = max(maxNew, 1)
        let suppress = suppressList(options)

        var cache = makeCache(batch: 1)
        var noSpeech: Float = 0
        if startStep > 0 {
            let h = decoderForward(tokens: Array(prompt[0..<startStep]), count: startStep, cache: &cache, cross: cross)
            if sotIndex < startStep {
                let row = logits(h.rows(sotIndex ..< sotIndex + 1)).storage
                noSpeech = softmaxProb(row, tk.noSpeech)
            }
        }
        let first = prompt[startStep]
        let hyps: [Hypothesis]
        if temperature > 0 {
            hyps = sample(cross: cross, cache: cache, first: first, maxNew: maxNew, temperature: temperature,
                          copies: max(1, options.bestOf), timestamps: timestamps, options: options, suppress: suppress,
                          noSpeechAtStep0: sotIndex == startStep, noSpeech: &noSpeech, rng: &rng)
        } else {
            hyps = beamSearch(cross: cross, cache: cache, first: first, maxNew: maxNew, beam: max(1, options.beamSize),
                              timestamps: timestamps, options: options, suppress: suppress,
                              noSpeechAtStep0: sotIndex == startStep, noSpeech: &noSpeech)
        }
        let lp = options.lengthPenalty
        func norm(_ h: Hypothesis) -> Float { h.logprobSum / powf(Float(h.tokens.count), lp) }
        var best = hyps[0]
        var bestScore = norm(best)
        for h in hyps.dropFirst() {
            let s = norm(h)
            if s > bestScore { best = h; bestScore = s }
        }
        let n = Float(best.tokens.count)
        let text = tk.decode(best.tokens)
        return WindowResult(tokens: best.tokens, logprobSum: best.logprobSum, score: bestScore,
                            avgLogprob: best.logprobSum / (n + 1), noSpeechProb: noSpeech, temperature: temperature,
                            compressionRatio: compressionRatio(text))
    }

    func softmaxProb(_ row: [Float], _ id: Int) -> Float {
        let lse = LogitFilters.logSumExp(row, 0..<row.count)
        return expf(row[id] - lse)
    }

    /// Beam search with CT2's bookkeeping; beam 1 is greedy.
    func beamSearch(cross: CrossAttentionCache, cache initial: SelfAttentionCache, first: Int, maxNew: Int, beam: Int,
                    timestamps: Bool, options: DecodingOptions, suppress: [Int],
                    noSpeechAtStep0: Bool, noSpeech: inout Float) -> [Hypothesis] {
        let eot = tokenizer.eot, v = dimensions.vocabSize
        var cache = initial
        var alive: [[Int]] = [[]]
        var scores: [Float] = [0]
        var inputs = [first]
        var finished: [Hypothesis] = []
        let maxCandidates = Int((Float(beam) * options.patience).rounded())
        let numCandidates = beam == 1 ? 1 : 2 * beam
        for step in 0..<maxNew {
            let h = decoderForward(tokens: inputs, count: 1, cache: &cache, cross: cross)
            let lg = logits(h)
            let isLast = step + 1 == maxNew
            // Candidates over all alive beams: (score, beam, token)
            var top: [(Float, Int, Int)] = []
            for b in 0..<alive.count {
                var row = Array(lg.storage[b * v ..< (b + 1) * v])
                if step == 0 && noSpeechAtStep0 && b == 0 { noSpeech = softmaxProb(row, tokenizer.noSpeech) }
                processLogits(&row, step: step, generated: alive[b], timestamps: timestamps, options: options, suppress: suppress)
                let lp = LogitFilters.logSoftmax(row)
                let base = scores[b]
                insertTopK(&top, k: numCandidates, values: lp, add: base, beam: b)
            }
            if beam == 1 {
                let (s, b, tok) = top[0]
                if tok == eot || isLast {
                    finished.append(Hypothesis(tokens: tok == eot ? alive[b] : alive[b] + [tok], logprobSum: s))
                    return finished
                }
                alive = [alive[b] + [tok]]
                scores = [s]
                inputs = [tok]
                continue
            }
            var nextAlive: [[Int]] = [], nextScores: [Float] = [], origins: [Int] = [], nextInputs: [Int] = []
            var secondary = beam
            for k in 0..<beam {
                var chosen = k
                let (s, b, tok) = top[k]
                if tok == eot || isLast {
                    finished.append(Hypothesis(tokens: tok == eot ? alive[b] : alive[b] + [tok], logprobSum: s))
                    var j = secondary
                    while j < top.count {
                        if top[j].2 != eot { chosen = j; secondary = j + 1; break }
                        j += 1
                    }
                }
                let (cs, cb, ct) = top[chosen]
                nextAlive.append(alive[cb] + [ct])
                nextScores.append(cs)
                origins.append(cb)
                nextInputs.append(ct)
            }
            if isLast || finished.count >= maxCandidates { return finished }
            cache.reorder(origins)
            alive = nextAlive
            scores = nextScores
            inputs = nextInputs
        }
        return finished
    }

    /// Keeps the k best (value + add) of `values` in `top`, sorted descending (ties: earlier first).
    func insertTopK(_ top: inout [(Float, Int, Int)], k: Int, values: [Float], add: Float, beam: Int) {
        values.withUnsafeBufferPointer { p in
            for i in 0..<p.count {
                let s = p[i] + add
                if top.count == k, let last = top.last, !(s > last.0) { continue }
                var pos = top.count
                while pos > 0 && s > top[pos - 1].0 { pos -= 1 }
                top.insert((s, beam, i), at: pos)
                if top.count > k { top.removeLast() }
            }
        }
    }

    /// Random sampling at temperature > 0: `copies` independent hypotheses, batched.
    func sample(cross: CrossAttentionCache, cache initial: SelfAttentionCache, first: Int, maxNew: Int, temperature: Float,
                copies: Int, timestamps: Bool, options: DecodingOptions, suppress: [Int],
                noSpeechAtStep0: Bool, noSpeech: inout Float, rng: inout WhisperRNG) -> [Hypothesis] {
        let eot = tokenizer.eot, v = dimensions.vocabSize
        var cache = initial
        cache.reorder(Array(repeating: 0, count: copies))
        var alive = Array(repeating: [Int](), count: copies)
        var scores = [Float](repeating: 0, count: copies)
        var active = Array(0..<copies)   // which copy each cache row belongs to
        var inputs = Array(repeating: first, count: copies)
        var finished = [Hypothesis?](repeating: nil, count: copies)
        for step in 0..<maxNew {
            let h = decoderForward(tokens: inputs, count: 1, cache: &cache, cross: cross)
            let lg = logits(h)
            let isLast = step + 1 == maxNew
            var keepRows: [Int] = [], nextInputs: [Int] = [], nextActive: [Int] = []
            for (r, c) in active.enumerated() {
                var row = Array(lg.storage[r * v ..< (r + 1) * v])
                if step == 0 && noSpeechAtStep0 && r == 0 { noSpeech = softmaxProb(row, tokenizer.noSpeech) }
                processLogits(&row, step: step, generated: alive[c], timestamps: timestamps, options: options, suppress: suppress)
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
            if keepRows.count != active.count { cache.reorder(keepRows) }
            active = nextActive
            inputs = nextInputs
        }
        return finished.compactMap { $0 }
    }

    func sampleIndex(_ logp: [Float], temperature: Float, rng: inout WhisperRNG) -> Int {
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

    /// |b| / |zlib.compress(b, 6)| with b = UTF-8 of text.strip().
    public func compressionRatio(_ text: String) -> Float {
        Self.compressionRatio(text)
    }

    public static func compressionRatio(_ text: String) -> Float {
        let bytes = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        if bytes.isEmpty { return 0 }
        var destLen = compressBound(uLong(bytes.count))
        var dest = [UInt8](repeating: 0, count: Int(destLen))
        let rc = dest.withUnsafeMutableBufferPointer { d in
            bytes.withUnsafeBufferPointer { s in
                compress2(d.baseAddress!, &destLen, s.baseAddress!, uLong(bytes.count), 6)
            }
        }
        guard rc == Z_OK, destLen > 0 else { return 0 }
        return Float(bytes.count) / Float(destLen)
    }
}
