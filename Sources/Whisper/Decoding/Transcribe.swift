import Foundation

extension WhisperModel {
    /// Throws unless this model can decode in `language` (nil = detect): a multilingual
    /// model must have its token; an English-only one decodes any Whisper code as English,
    /// as faster-whisper does, but an unknown code is an error there too.
    public func checkLanguage(_ language: String?) throws(WhisperError) {
        guard let language else { return }
        if tokenizer.multilingual {
            _ = try tokenizer.languageToken(language)
        } else if !Tokenizer.allLanguageCodes.contains(language) {
            throw .unknownLanguage(language, available: Tokenizer.allLanguageCodes)
        }
    }

    /// Language probabilities (docs/engine.md §6.9), sorted descending. English-only models
    /// return [("en", 1)]. `features` is the first window sliced from all
    /// N//160+1 frames (up to 3000 columns).
    public func detectLanguage(features: MelWindow) -> [(code: String, probability: Float)] {
        guard tokenizer.multilingual else { return [("en", 1)] }
        let enc = encode(features)
        let cross = crossAttentionCache(enc)
        let row = BLAS.run { () -> [Float] in
            var cache = makeCache(batch: 1)
            let h = decoderForward(tokens: [tokenizer.sot], count: 1, cache: &cache, cross: cross)
            return logits(h).storage
        }
        var codeFor: [Int: String] = [:]
        for (c, id) in tokenizer.languageTokens { codeFor[id] = c }
        let ids = config.langIds.filter { $0 < row.count && codeFor[$0] != nil }
        let vals = ids.map { row[$0] }
        let lse = LogitFilters.logSumExp(vals, 0..<vals.count)
        return zip(ids, vals).map { (codeFor[$0.0]!, expf($0.1 - lse)) }.sorted { $0.probability > $1.probability }
    }

    /// The decoder prompt for a window (docs/engine.md §6.2).
    /// `hotwords` go after sot_prev, before the previous text, even in the
    /// first window; at most 223 tokens, and fewer if the prompt would leave
    /// no room to generate.
    public func prompt(previous: [Int], language: String = "en", task: Tokenizer.Task = .transcribe,
                       withoutTimestamps: Bool = false, hotwords: String? = nil) -> [Int] {
        var p: [Int] = []
        let half = dimensions.textContext / 2 - 1
        var hot: [Int] = []
        if let h = hotwords?.trimmingCharacters(in: .whitespacesAndNewlines), !h.isEmpty {
            hot = Array(tokenizer.encode(" " + h).prefix(half))
        }
        if !previous.isEmpty || !hot.isEmpty {
            let history = Array(previous.suffix(half))
            let room = dimensions.textContext - 8 - history.count
            p.append(tokenizer.sotPrev)
            p.append(contentsOf: hot.prefix(max(0, room - 1)))
            p.append(contentsOf: history)
        }
        p.append(contentsOf: tokenizer.sotSequence(language: language, task: task))
        if withoutTimestamps { p.append(tokenizer.noTimestamps) }
        return p
    }

    /// generate_with_fallback (docs/engine.md §6.8) over an already computed cross-attention cache.
    public func generateWithFallback(cross: CrossAttentionCache, prompt: [Int], options: DecodingOptions,
                                     rng: inout WhisperRNG) -> WindowResult {
        var all: [WindowResult] = []
        let temps = options.temperatures.isEmpty ? [0] : options.temperatures
        for t in temps {
            let r = generate(cross: cross, prompt: prompt, temperature: t, options: options, rng: &rng)
            var needsFallback = false
            if let c = options.compressionRatioThreshold, r.compressionRatio > c { needsFallback = true }
            if let l = options.logProbThreshold, r.avgLogprob < l { needsFallback = true }
            if let ns = options.noSpeechThreshold, let l = options.logProbThreshold, r.noSpeechProb > ns, r.avgLogprob < l {
                needsFallback = false
            }
            if !needsFallback { return r }
            all.append(r)
        }
        let threshold = options.compressionRatioThreshold ?? .infinity
        let good = all.filter { $0.compressionRatio <= threshold }
        var best = (good.isEmpty ? all : good).max { $0.avgLogprob < $1.avgLogprob }!
        best.temperature = temps.last ?? 1
        return best
    }

    /// Encodes one window and decodes it with temperature fallback.
    public func decodeWindow(features: MelWindow, prompt: [Int], options: DecodingOptions,
                             rng: inout WhisperRNG) -> WindowResult {
        let cross = crossAttentionCache(encode(features))
        return generateWithFallback(cross: cross, prompt: prompt, options: options, rng: &rng)
    }

    /// Transcribes an in-memory buffer (meant for short files; memory grows with length):
    /// language detection if needed, then the full long-form loop (docs/engine.md §7) over every window.
    /// `samples` are s16 values / 32768 at 16 kHz mono.
    public func transcribeShort(samples: [Float], options: DecodingOptions = DecodingOptions()) throws(WhisperError) -> [Segment] {
        guard samples.count > 40 else { throw .invalidInput("need more than 40 samples, got \(samples.count)") }
        try checkLanguage(options.language)
        let (full, g) = spectrogram.full(samples: samples)
        let language = options.language ?? (tokenizer.multilingual ? detectLanguage(fullFeatures: full).first?.code ?? "en" : "en")
        let lf = LongFormTranscriber(model: self, options: options)
        var state = lf.start(totalSamples: samples.count, globalMax: g, language: language)
        var out: [Segment] = []
        while let w = lf.nextWindow(state) {
            let window = MelWindow(startFrame: w.startFrame, features: full.features.columns(w.startFrame, w.frameCount))
            out += lf.advance(&state, window: window).segments
        }
        return out
    }

    /// Language detection on the first 3000 of all N//160+1 frames (docs/engine.md §6.9).
    public func detectLanguage(fullFeatures full: MelWindow) -> [(code: String, probability: Float)] {
        let n = min(2 * dimensions.audioContext, full.frameCount)
        return detectLanguage(features: MelWindow(startFrame: 0, features: full.features.columns(0, n)))
    }
}

