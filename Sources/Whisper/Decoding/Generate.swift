import CZlib
import Foundation

/// Where a decoder prompt's parts are (docs/engine.md §6.3): what is fed before the first
/// step, whether timestamps are on, and how many tokens may follow.
///
/// Exists so the one-window and the batched generate read a prompt the same way.
struct PromptLayout {
    /// Index of sot (the no-speech probability is read at this position).
    let sotIndex: Int
    /// Tokens fed before the search; the search starts from prompt[startStep].
    let startStep: Int
    let timestamps: Bool
    let maxNew: Int

    init?(_ prompt: [Int], model: WhisperModel, options: DecodingOptions) {
        let tk = model.tokenizer
        guard let sot = prompt.firstIndex(of: tk.sot) else { return nil }
        var promptLength = sot
        while promptLength < prompt.count, (tk.sot...tk.noTimestamps).contains(prompt[promptLength]) { promptLength += 1 }
        sotIndex = sot
        timestamps = !(prompt[promptLength - 1] == tk.noTimestamps)
        startStep = promptLength - 1
        var n = min(model.dimensions.textContext / 2, model.dimensions.textContext - startStep)
        if let m = options.maxNewTokens { n = min(n, m) }
        maxNew = max(n, 1)
    }
}

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

    /// Applies the logit filters (docs/engine.md §6.4) to one row of logits at generation step `step`.
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

    /// CT2 `generate` for one window at one temperature (docs/engine.md §6.3–§6.6).
    /// The prompt is [sot_prev + history] + sot_sequence (+ no_timestamps).
    public func generate(cross: CrossAttentionCache, prompt: [Int], temperature: Float,
                         options: DecodingOptions, rng: inout WhisperRNG) -> WindowResult {
        var r = rng
        defer { rng = r }
        return BLAS.run { generateLocked(cross: cross, prompt: prompt, temperature: temperature, options: options, rng: &r) }
    }

    /// `generate` inside the engine lock (`BLAS.run`); its products split over `BLAS.threads`.
    func generateLocked(cross: CrossAttentionCache, prompt: [Int], temperature: Float,
                        options: DecodingOptions, rng: inout WhisperRNG) -> WindowResult {
        let tk = tokenizer
        guard let layout = PromptLayout(prompt, model: self, options: options) else {
            return WindowResult(tokens: [], logprobSum: 0, score: 0, avgLogprob: 0, noSpeechProb: 0,
                                temperature: temperature, compressionRatio: 0)
        }
        let (sotIndex, startStep, timestamps, maxNew) = (layout.sotIndex, layout.startStep, layout.timestamps, layout.maxNew)
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
        return windowResult(hyps, noSpeech: noSpeech, temperature: temperature, options: options)
    }

    /// The best of a search's finished hypotheses by CT2's length-normalised score, as a window result.
    func windowResult(_ hyps: [Hypothesis], noSpeech: Float, temperature: Float, options: DecodingOptions) -> WindowResult {
        let lp = options.lengthPenalty
        func norm(_ h: Hypothesis) -> Float { h.logprobSum / powf(Float(h.tokens.count), lp) }
        guard var best = hyps.first else {
            return WindowResult(tokens: [], logprobSum: 0, score: 0, avgLogprob: 0, noSpeechProb: noSpeech,
                                temperature: temperature, compressionRatio: 0)
        }
        var bestScore = norm(best)
        for h in hyps.dropFirst() {
            let s = norm(h)
            if s > bestScore { best = h; bestScore = s }
        }
        let n = Float(best.tokens.count)
        let text = tokenizer.decode(best.tokens)
        return WindowResult(tokens: best.tokens, logprobSum: best.logprobSum, score: bestScore,
                            avgLogprob: best.logprobSum / (n + 1), noSpeechProb: noSpeech, temperature: temperature,
                            compressionRatio: compressionRatio(text))
    }

    func softmaxProb(_ row: [Float], _ id: Int) -> Float {
        let lse = LogitFilters.logSumExp(row, 0..<row.count)
        return expf(row[id] - lse)
    }

    /// Beam search with CT2's bookkeeping (beam 1 is greedy) over the real decoder.
    func beamSearch(cross: CrossAttentionCache, cache initial: SelfAttentionCache, first: Int, maxNew: Int, beam: Int,
                    timestamps: Bool, options: DecodingOptions, suppress: [Int],
                    noSpeechAtStep0: Bool, noSpeech: inout Float) -> [Hypothesis] {
        var stepper = DecoderStepper(model: self, cache: initial, cross: cross)
        var ns = noSpeech
        let noSpeechId = tokenizer.noSpeech
        let hyps = SearchAlgorithms.beamSearch(&stepper, first: first, maxNew: maxNew, beam: beam, patience: options.patience,
                                               eot: tokenizer.eot,
                                               process: { row, step, generated in
                                                   self.processLogits(&row, step: step, generated: generated, timestamps: timestamps,
                                                                      options: options, suppress: suppress)
                                               },
                                               rawStep0: { row in if noSpeechAtStep0 { ns = self.softmaxProb(row, noSpeechId) } })
        noSpeech = ns
        return hyps
    }

    /// Random sampling at temperature > 0: `copies` independent hypotheses, batched.
    func sample(cross: CrossAttentionCache, cache initial: SelfAttentionCache, first: Int, maxNew: Int, temperature: Float,
                copies: Int, timestamps: Bool, options: DecodingOptions, suppress: [Int],
                noSpeechAtStep0: Bool, noSpeech: inout Float, rng: inout WhisperRNG) -> [Hypothesis] {
        var stepper = DecoderStepper(model: self, cache: initial, cross: cross)
        var ns = noSpeech
        let noSpeechId = tokenizer.noSpeech
        let hyps = SearchAlgorithms.sample(&stepper, first: first, maxNew: maxNew, temperature: temperature, copies: copies,
                                           eot: tokenizer.eot, rng: &rng,
                                           process: { row, step, generated in
                                               self.processLogits(&row, step: step, generated: generated, timestamps: timestamps,
                                                                  options: options, suppress: suppress)
                                           },
                                           rawStep0: { row in if noSpeechAtStep0 { ns = self.softmaxProb(row, noSpeechId) } })
        noSpeech = ns
        return hyps
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
