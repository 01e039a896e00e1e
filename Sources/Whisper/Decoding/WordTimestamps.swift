import Foundation

/// One word with its time span and probability, as faster-whisper reports it.
///
/// Exists so segments can carry word-level timing (subtitles that follow the
/// speech word by word, search that jumps to a word).
public struct Word: Sendable, Codable, Equatable {
    public var start: Double
    public var end: Double
    /// The word as decoded, usually with its leading space.
    public var word: String
    public var probability: Float

    public init(start: Double, end: Double, word: String, probability: Float) {
        self.start = start
        self.end = end
        self.word = word
        self.probability = probability
    }
}

/// The token-level alignment of one window's text with its audio frames
/// (docs/engine.md §8.2–§8.4): the DTW path over (token, encoder frame) and each text
/// token's probability.
///
/// Exists as the raw material of word timing, separate from the word rules so
/// each can be tested on its own.
struct TokenAlignment: Equatable {
    /// p[t]: probability of text token t, softmax over the ids below eot.
    var textTokenProbabilities: [Float]
    /// The DTW path: token row (0 … T) and encoder frame of each step.
    var textIndices: [Int]
    var timeIndices: [Int]
}

/// A word of a window with window-relative times, its tokens kept for the
/// punctuation merge and the segment assignment.
struct TimedWord: Equatable {
    var word: String
    var tokens: [Int]
    var start: Double
    var end: Double
    var probability: Float
}

/// The numeric pieces of the alignment (median filter, DTW), as pure functions.
///
/// Exists so tests can check them against hand-worked examples.
enum AlignmentMath {
    /// Median filter of `width` (odd) along a row, reflect-indexed at both ends
    /// (index −k → k, n−1+k → n−1−k). Rows no longer than width/2 pass through.
    static func medianFilter(_ row: [Float], width: Int = 7) -> [Float] {
        let n = row.count, pad = width / 2
        guard n > pad else { return row }
        var out = row
        var window = [Float](repeating: 0, count: width)
        for j in 0..<n {
            for k in -pad...pad {
                var r = j + k
                if r < 0 { r = -r }
                if r >= n { r = 2 * n - 2 - r }
                window[k + pad] = row[r]
            }
            window.sort()
            out[j] = window[pad]
        }
        return out
    }

    /// Dynamic time warping on a cost matrix (rows × cols, row-major): the
    /// monotone path from (0,0) to (rows−1, cols−1) of least total cost.
    /// Ties go to the diagonal, then up, then left, as CTranslate2's does.
    static func dtw(_ cost: [Float], rows n: Int, cols m: Int) -> (rows: [Int], cols: [Int]) {
        guard n > 0, m > 0 else { return ([], []) }
        let w = m + 1
        var acc = [Float](repeating: .infinity, count: (n + 1) * w)
        var trace = [UInt8](repeating: 2, count: (n + 1) * w)
        acc[0] = 0
        for j in 1...m {
            for i in 1...n {
                let c0 = acc[(i - 1) * w + j - 1], c1 = acc[(i - 1) * w + j], c2 = acc[i * w + j - 1]
                let c: Float, t: UInt8
                if c0 < c1 && c0 < c2 { c = c0; t = 0 } else if c1 < c0 && c1 < c2 { c = c1; t = 1 } else { c = c2; t = 2 }
                acc[i * w + j] = cost[(i - 1) * m + j - 1] + c
                trace[i * w + j] = t
            }
        }
        for j in 0...m { trace[j] = 2 }
        for i in 0...n { trace[i * w] = 1 }
        var i = n, j = m
        var rows: [Int] = [], cols: [Int] = []
        while i > 0 || j > 0 {
            rows.append(i - 1)
            cols.append(j - 1)
            switch trace[i * w + j] {
            case 0: i -= 1; j -= 1
            case 1: i -= 1
            default: j -= 1
            }
        }
        return (rows.reversed(), cols.reversed())
    }

    /// The median of non-empty values (the mean of the middle two for an even count).
    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        let n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// Python's `needle in haystack` for strings: a substring test, true for "".
    static func contains(_ haystack: String, _ needle: String) -> Bool {
        needle.isEmpty || haystack.contains(needle)
    }

    /// numpy's round(x, 2): rint(x·100)/100, ties to even.
    static func round2(_ x: Double) -> Double { (x * 100).rounded(.toNearestOrEven) / 100 }
}

extension WhisperModel {
    /// The (layer, head) pairs whose cross-attention follows the speech: the
    /// model's `alignment_heads`, or every head of the second half of the
    /// decoder layers when the model names none (CTranslate2's default).
    var alignmentHeadPairs: [(layer: Int, head: Int)] {
        let layers = dimensions.decoderLayers, heads = dimensions.decoderHeads
        let named = config.alignmentHeads.compactMap { p -> (Int, Int)? in
            guard p.count == 2, (0..<layers).contains(p[0]), (0..<heads).contains(p[1]) else { return nil }
            return (p[0], p[1])
        }
        if !named.isEmpty { return named }
        return (layers / 2 ..< layers).flatMap { l in (0..<heads).map { (l, $0) } }
    }

    /// docs/engine.md §8.2–§8.4: runs the decoder over sot_sequence + no_timestamps + text
    /// + eot against one window's encoder output and aligns tokens with frames.
    /// `frames` is the window's frame count (encoder frames used: frames/2).
    func align(cross: CrossAttentionCache, sotSequence: [Int], textTokens: [Int], frames: Int) -> TokenAlignment {
        let tk = tokenizer
        let tokens = sotSequence + [tk.noTimestamps] + textTokens + [tk.eot]
        let count = tokens.count, s = sotSequence.count, t = textTokens.count
        let n = min(frames / 2, cross.audioFrames)
        let pairs = alignmentHeadPairs
        guard n > 0, count <= dimensions.textContext, !pairs.isEmpty else {
            return TokenAlignment(textTokenProbabilities: [], textIndices: [], timeIndices: [])
        }
        var slot: [Int: Int] = [:]
        for (k, p) in pairs.enumerated() { slot[p.layer * 4096 + p.head] = k }
        var captured = [[Float]](repeating: [], count: pairs.count)
        let hidden = BLAS.run { () -> Matrix in
            var cache = makeCache(batch: 1)
            return decoderForward(tokens: tokens, count: count, cache: &cache, cross: cross) { layer, head, scores in
                guard let k = slot[layer * 4096 + head] else { return }
                let cols = scores.count / count
                var m = [Float](repeating: 0, count: count * n)
                for r in 0..<count {
                    for c in 0..<n { m[r * n + c] = scores[r * cols + c] }
                }
                captured[k] = m
            }
        }

        // p[t]: the next token's probability among the text tokens (ids < eot).
        var probabilities: [Float] = []
        if t > 0 {
            let rows = BLAS.run { logits(hidden.rows(s ..< s + t)) }
            for i in 0..<t {
                let row = Array(rows.storage[i * rows.cols ..< (i + 1) * rows.cols])
                let lse = LogitFilters.logSumExp(row, 0..<min(tk.eot, row.count))
                probabilities.append(expf(row[textTokens[i]] - lse))
            }
        }

        // Per head: softmax over the kept frames, standardise each frame across
        // all token rows, median-filter along time; then average the heads.
        var average = [Float](repeating: 0, count: count * n)
        for var w in captured where w.count == count * n {
            w.withUnsafeMutableBufferPointer { p in
                for r in 0..<count { softmaxInPlace(p.baseAddress! + r * n, count: n) }
            }
            for c in 0..<n {
                var mean: Float = 0
                for r in 0..<count { mean += w[r * n + c] }
                mean /= Float(count)
                var variance: Float = 0
                for r in 0..<count { let d = w[r * n + c] - mean; variance += d * d }
                let std = (variance / Float(count)).squareRoot()
                for r in 0..<count { w[r * n + c] = (w[r * n + c] - mean) / std }
            }
            for r in 0..<count {
                let filtered = AlignmentMath.medianFilter(Array(w[r * n ..< (r + 1) * n]))
                for c in 0..<n { average[r * n + c] += filtered[c] }
            }
        }
        let heads = Float(captured.count)
        // Rows s … s+t (the no_timestamps row predicts text[0]); DTW on −x.
        var cost = [Float](repeating: 0, count: (t + 1) * n)
        for r in 0...t {
            for c in 0..<n { cost[r * n + c] = -(average[(s + r) * n + c] / heads) }
        }
        let path = AlignmentMath.dtw(cost, rows: t + 1, cols: n)
        return TokenAlignment(textTokenProbabilities: probabilities, textIndices: path.rows, timeIndices: path.cols)
    }

    /// docs/engine.md §8.5–§8.6: words of a window's text with window-relative times.
    func findAlignment(cross: CrossAttentionCache, sotSequence: [Int], textTokens: [Int], frames: Int,
                       language: String) -> [TimedWord] {
        guard !textTokens.isEmpty else { return [] }
        let a = align(cross: cross, sotSequence: sotSequence, textTokens: textTokens, frames: frames)
        return Self.timedWords(a, words: tokenizer.splitToWordTokens(textTokens + [tokenizer.eot], language: language))
    }

    /// Word times from a token alignment: a word spans from the first frame of
    /// its first token's row to the first frame of the next word's first token.
    static func timedWords(_ a: TokenAlignment, words: [WordTokens]) -> [TimedWord] {
        guard words.count > 1, !a.textIndices.isEmpty else { return [] }
        var boundaries = [0]
        for w in words.dropLast() { boundaries.append(boundaries[boundaries.count - 1] + w.tokens.count) }
        var jumpTimes: [Double] = []
        for k in a.textIndices.indices where k == 0 || a.textIndices[k] != a.textIndices[k - 1] {
            jumpTimes.append(Double(a.timeIndices[k]) / 50)
        }
        var out: [TimedWord] = []
        for k in 0 ..< boundaries.count - 1 {
            let b0 = boundaries[k], b1 = boundaries[k + 1]
            guard b1 < jumpTimes.count else { break }
            let probs = a.textTokenProbabilities[min(b0, a.textTokenProbabilities.count) ..< min(b1, a.textTokenProbabilities.count)]
            let p = probs.isEmpty ? Float.nan : probs.reduce(0, +) / Float(probs.count)
            out.append(TimedWord(word: words[k].word, tokens: words[k].tokens, start: jumpTimes[b0], end: jumpTimes[b1],
                                 probability: p))
        }
        return out
    }
}

/// Python's `a in b` on strings (see `AlignmentMath.contains`).
func pythonIn(_ needle: String, _ haystack: String) -> Bool { AlignmentMath.contains(haystack, needle) }

/// One segment of a window while its words are being timed (docs/engine.md §8.7–§8.8).
struct WordedPiece {
    var start: Double
    var end: Double
    var tokens: [Int]
    var words: [Word] = []
}

extension LongFormTranscriber {
    /// faster-whisper's `add_word_timestamps` for one window: times the words of
    /// all its segments, applies the duration hacks and punctuation merge, and
    /// moves segment bounds to their words. Returns nothing; `pieces` change.
    func addWordTimestamps(_ pieces: inout [WordedPiece], cross: CrossAttentionCache, seek: Int, segmentSize: Int,
                           language: String, lastSpeech: Double) {
        guard !pieces.isEmpty else { return }
        let eot = model.tokenizer.eot
        let textPerPiece = pieces.map { $0.tokens.filter { $0 < eot } }
        var alignment = model.findAlignment(cross: cross,
                                            sotSequence: model.tokenizer.sotSequence(language: language, task: options.task),
                                            textTokens: textPerPiece.flatMap { $0 }, frames: segmentSize, language: language)
        let durations = alignment.map { $0.end - $0.start }.filter { $0 != 0 }
        let median = min(0.7, durations.isEmpty ? 0 : AlignmentMath.median(durations))
        let maxDuration = median * 2
        if !durations.isEmpty && alignment.count > 1 {
            let sentenceEnds = ".。!！?？"
            for i in 1..<alignment.count where alignment[i].end - alignment[i].start > maxDuration {
                if pythonIn(alignment[i].word, sentenceEnds) {
                    alignment[i].end = alignment[i].start + maxDuration
                } else if pythonIn(alignment[i - 1].word, sentenceEnds) {
                    alignment[i].start = alignment[i].end - maxDuration
                }
            }
        }
        Self.mergePunctuations(&alignment, prepended: options.prependPunctuations, appended: options.appendPunctuations)

        let timeOffset = Double(seek) / 100
        var wordIndex = 0
        var last = lastSpeech
        for si in pieces.indices {
            var saved = 0
            var words: [Word] = []
            while wordIndex < alignment.count && saved < textPerPiece[si].count {
                let timing = alignment[wordIndex]
                if !timing.word.isEmpty {
                    words.append(Word(start: AlignmentMath.round2(timeOffset + timing.start),
                                      end: AlignmentMath.round2(timeOffset + timing.end),
                                      word: timing.word, probability: timing.probability))
                }
                saved += timing.tokens.count
                wordIndex += 1
            }
            if !words.isEmpty {
                let n = words.count - 1
                // A first word after a pause is at most twice the median long.
                if words[0].end - last > median * 4
                    && (words[0].end - words[0].start > maxDuration
                        || (words.count > 1 && words[1].end - words[0].start > maxDuration * 2)) {
                    if words.count > 1 && words[1].end - words[1].start > maxDuration {
                        let boundary = max(words[1].end / 2, words[1].end - maxDuration)
                        words[0].end = boundary
                        words[1].start = boundary
                    }
                    words[0].start = max(0, words[0].end - maxDuration)
                }
                // Prefer the segment's own start when the first word is too long.
                if pieces[si].start < words[0].end && pieces[si].start - 0.5 > words[0].start {
                    words[0].start = max(0, min(words[0].end - median, pieces[si].start))
                } else {
                    pieces[si].start = words[0].start
                }
                // And its own end when the last word is too long.
                if pieces[si].end > words[n].start && pieces[si].end + 0.5 < words[n].end {
                    words[n].end = max(words[n].start + median, pieces[si].end)
                } else {
                    pieces[si].end = words[n].end
                }
                last = pieces[si].end
            }
            pieces[si].words = words
        }
    }

    /// faster-whisper's `merge_punctuations`: opening marks join the next word,
    /// closing marks the previous one. Membership is a substring test, as in Python.
    static func mergePunctuations(_ words: inout [TimedWord], prepended: String, appended: String) {
        guard words.count > 1 else { return }
        var i = words.count - 2, j = words.count - 1
        while i >= 0 {
            let previous = words[i]
            if previous.word.hasPrefix(" ") && pythonIn(previous.word.trimmingCharacters(in: .whitespacesAndNewlines), prepended) {
                words[j].word = previous.word + words[j].word
                words[j].tokens = previous.tokens + words[j].tokens
                words[i].word = ""
                words[i].tokens = []
            } else {
                j = i
            }
            i -= 1
        }
        i = 0
        j = 1
        while j < words.count {
            if !words[i].word.hasSuffix(" ") && pythonIn(words[j].word, appended) {
                words[i].word += words[j].word
                words[i].tokens += words[j].tokens
                words[j].word = ""
                words[j].tokens = []
            } else {
                i = j
            }
            j += 1
        }
    }

    /// The end of the last timed word of a window, or of its last segment.
    static func lastEnd(_ pieces: [WordedPiece]) -> Double? {
        for p in pieces.reversed() { if let w = p.words.last { return w.end } }
        return pieces.last?.end
    }
}
