import Foundation

extension WhisperModel {
    /// Beam search for several windows at once, each with its own encoder output and the same
    /// prompt (faster-whisper's `BatchedInferencePipeline.generate_segment_batched`): the prompt
    /// is fed for all windows in one pass, then every step feeds the alive hypotheses of all
    /// unfinished windows through the decoder together; a finished window's hypotheses drop out.
    /// No temperature fallback: CTranslate2 runs beam search whatever the first temperature,
    /// which is reported as the result's temperature.
    public func decodeBatch(_ crosses: [CrossAttentionCache], prompt: [Int], options: DecodingOptions) -> [WindowResult] {
        BLAS.run { decodeBatchLocked(crosses, prompt: prompt, options: options) }
    }

    private func decodeBatchLocked(_ crosses: [CrossAttentionCache], prompt: [Int], options: DecodingOptions) -> [WindowResult] {
        let temperature = options.temperatures.first ?? 0
        let pieces = crosses.count
        guard pieces > 0, let layout = PromptLayout(prompt, model: self, options: options) else {
            return crosses.map { _ in windowResult([], noSpeech: 0, temperature: temperature, options: options) }
        }
        let startStep = layout.startStep
        var cache = makeCache(batch: pieces, capacity: startStep + layout.maxNew + 1)
        var noSpeech = [Float](repeating: 0, count: pieces)
        if startStep > 0 {
            let fed = Array(prompt[0..<startStep])
            let h = decoderForward(tokens: Array(repeating: fed, count: pieces).flatMap { $0 }, count: startStep, cache: &cache,
                                   crosses: crosses.enumerated().map { ($1, $0..<$0 + 1) })
            if layout.sotIndex < startStep {
                let rows = logits(h.rows(pieces: pieces, every: startStep, at: layout.sotIndex))
                for p in 0..<pieces { noSpeech[p] = softmaxProb(Array(rows.storage[p * rows.cols ..< (p + 1) * rows.cols]), tokenizer.noSpeech) }
            }
        }
        let suppress = suppressList(options)
        let timestamps = layout.timestamps
        let process: SearchAlgorithms.Process = { row, step, generated in
            self.processLogits(&row, step: step, generated: generated, timestamps: timestamps, options: options, suppress: suppress)
        }
        var runs = (0..<pieces).map { _ in
            BeamRun(first: prompt[startStep], maxNew: layout.maxNew, beam: max(1, options.beamSize), patience: options.patience,
                    eot: tokenizer.eot)
        }
        // The cache's hypotheses are always the unfinished windows' alive hypotheses, in window
        // order: the prompt rows at first, then each step's reorder keeps that layout.
        var active = Array(0..<pieces)
        while !active.isEmpty {
            var groups: [(cross: CrossAttentionCache, hypotheses: Range<Int>)] = []
            var tokens: [Int] = []
            for p in active {
                groups.append((crosses[p], tokens.count ..< tokens.count + runs[p].inputs.count))
                tokens += runs[p].inputs
            }
            let lg = logits(decoderForward(tokens: tokens, count: 1, cache: &cache, crosses: groups))
            var origins: [Int] = [], next: [Int] = []
            for (g, p) in active.enumerated() {
                let range = groups[g].hypotheses
                let rows = range.map { Array(lg.storage[$0 * lg.cols ..< ($0 + 1) * lg.cols]) }
                if runs[p].step == 0 && layout.sotIndex == startStep { noSpeech[p] = softmaxProb(rows[0], tokenizer.noSpeech) }
                guard let local = runs[p].consume(rows, process: process) else { continue }
                origins += local.map { range.lowerBound + $0 }
                next.append(p)
            }
            active = next
            if !active.isEmpty { cache.reorder(origins) }
        }
        return (0..<pieces).map { windowResult(runs[$0].finished, noSpeech: noSpeech[$0], temperature: temperature, options: options) }
    }
}

extension Matrix {
    /// Row `at` of each of `pieces` consecutive blocks of `every` rows.
    func rows(pieces: Int, every: Int, at: Int) -> Matrix {
        var out = Matrix(zeros: pieces, cols)
        for p in 0..<pieces {
            let src = (p * every + at) * cols
            out.storage.replaceSubrange(p * cols ..< (p + 1) * cols, with: storage[src ..< src + cols])
        }
        return out
    }
}
