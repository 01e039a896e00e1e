import Foundation

/// The resumable state of a long-form transcription (docs/engine.md §7.6): everything needed to
/// continue after the last finished window.
///
/// Exists so the daemon can journal it (it is Codable) after every window and
/// resume a job after a crash without the audio before `seek` or a new G pass.
public struct TranscriptionState: Sendable, Codable, Equatable {
    /// Next window's first frame.
    public var seek: Int
    /// Frames windows may use: N // hop.
    public var contentFrames: Int
    /// Total samples of the file.
    public var totalSamples: Int
    /// The file-wide maximum raw log-mel value (the front end's G).
    public var globalMax: Float
    /// all_tokens[prompt_reset_since:], trimmed to the last 223 tokens (all the prompt uses).
    public var history: [Int]
    /// Id of the last emitted segment (segments are numbered from 1).
    public var lastSegmentId: Int
    /// Sampling RNG for temperature fallback.
    public var rng: WhisperRNG
    public var language: String
    /// The end of the last timed word (word timestamps only; nil = 0).
    public var lastSpeechTimestamp: Double?

    public var isFinished: Bool { seek >= contentFrames }
}

/// One step's output: the window's segments (possibly none) and its raw decode result.
public struct WindowOutcome: Sendable, Equatable {
    public var segments: [Segment]
    public var result: WindowResult
    /// True if the window was skipped as silence (no_speech rule).
    public var skipped: Bool
}

/// faster-whisper's long-form loop as a state machine: `advance` consumes the
/// features of exactly one window and moves the state on.
///
/// Exists so the caller controls audio and I/O (streaming decode, journaling)
/// while the engine owns the decoding rules.
public struct LongFormTranscriber: Sendable {
    public let model: WhisperModel
    public let options: DecodingOptions

    public init(model: WhisperModel, options: DecodingOptions = DecodingOptions()) {
        self.model = model
        self.options = options
    }

    /// Initial state for a file of `totalSamples` samples whose G is `globalMax`.
    public func start(totalSamples: Int, globalMax: Float, language: String? = nil, seed: UInt64 = 0) -> TranscriptionState {
        var history: [Int] = []
        if let p = options.initialPrompt {
            history = model.tokenizer.encode(" " + p.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return TranscriptionState(seek: 0, contentFrames: LogMelSpectrogram.contentFrames(samples: totalSamples),
                                  totalSamples: totalSamples, globalMax: globalMax,
                                  history: Array(history.suffix(maxHistory)), lastSegmentId: 0,
                                  rng: WhisperRNG(seed: seed), language: language ?? options.language ?? "en")
    }

    var maxHistory: Int { model.dimensions.textContext / 2 - 1 }

    /// Frames in a full window: twice the encoder's audio context (3000, 30 s).
    public var windowFrames: Int { 2 * model.dimensions.audioContext }

    /// The next window: its frames and the sample range its features need
    /// ([hop·seek − pad, hop·(seek+count) + pad) clipped to the file, pad = nFFT/2). Nil when done.
    public func nextWindow(_ state: TranscriptionState) -> (startFrame: Int, frameCount: Int, samples: Range<Int>)? {
        guard !state.isFinished else { return nil }
        let count = min(windowFrames, state.contentFrames - state.seek)
        let lo = LogMelSpectrogram.firstSample(ofFrame: state.seek)
        let hi = min(state.totalSamples, LogMelSpectrogram.hop * (state.seek + count) + LogMelSpectrogram.centerPadding)
        return (state.seek, count, lo..<hi)
    }

    /// Features of the next window from a buffer holding (at least) its sample range.
    public func features(_ state: TranscriptionState, buffer: ArraySlice<Float>, bufferStart: Int) -> MelWindow? {
        guard let w = nextWindow(state) else { return nil }
        return model.spectrogram.window(buffer: buffer, bufferStart: bufferStart, totalSamples: state.totalSamples,
                                        startFrame: w.startFrame, frameCount: w.frameCount, globalMax: state.globalMax)
    }

    /// Decodes one window (whose features start at `state.seek`) and advances the state.
    public func advance(_ state: inout TranscriptionState, window: MelWindow) -> WindowOutcome {
        let tk = model.tokenizer
        let seek = state.seek
        let segmentSize = window.frameCount
        let timeOffset = Double(seek) * LogMelSpectrogram.secondsPerFrame
        let prompt = model.prompt(previous: state.history, language: state.language, task: options.task,
                                  withoutTimestamps: options.withoutTimestamps, hotwords: options.hotwords)
        let cross = model.crossAttentionCache(model.encode(window))
        let r = model.generateWithFallback(cross: cross, prompt: prompt, options: options, rng: &state.rng)
        if let ns = options.noSpeechThreshold, r.noSpeechProb > ns {
            let keep = options.logProbThreshold.map { r.avgLogprob > $0 } ?? false
            if !keep {
                state.seek += segmentSize
                return WindowOutcome(segments: [], result: r, skipped: true)
            }
        }
        let split = WindowSplit.split(tokens: r.tokens, timestampBegin: tk.timestampBegin, timeOffset: timeOffset,
                                      segmentSize: segmentSize)
        state.seek = seek + max(1, split.seekAdvance)
        var pieces = split.pieces.map { WordedPiece(start: $0.start, end: $0.end, tokens: $0.tokens) }
        if options.wordTimestamps {
            addWordTimestamps(&pieces, cross: cross, seek: seek, segmentSize: segmentSize, language: state.language,
                              lastSpeech: state.lastSpeechTimestamp ?? 0)
            let end = Self.lastEnd(pieces)
            if !split.singleTimestampEnding, let e = end, e > timeOffset {
                state.seek = max(seek + 1, Int((e * Double(LogMelSpectrogram.framesPerSecond)).rounded(.toNearestOrEven)))
            }
            if let e = end { state.lastSpeechTimestamp = e }
        }
        var segments: [Segment] = []
        for p in pieces {
            let text = tk.decode(p.tokens)
            if p.start == p.end || text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
            state.history.append(contentsOf: p.tokens)
            state.lastSegmentId += 1
            segments.append(Segment(id: state.lastSegmentId, seek: seek, start: p.start, end: p.end, text: text,
                                    tokens: p.tokens, temperature: r.temperature, avgLogprob: r.avgLogprob,
                                    compressionRatio: r.compressionRatio, noSpeechProb: r.noSpeechProb,
                                    words: options.wordTimestamps ? p.words : nil))
        }
        if !options.conditionOnPreviousText || r.temperature > options.promptResetOnTemperature {
            state.history = []
        }
        if state.history.count > maxHistory { state.history = Array(state.history.suffix(maxHistory)) }
        return WindowOutcome(segments: segments, result: r, skipped: false)
    }

    /// Convenience: the whole loop over an in-memory buffer (tests, short files).
    public func transcribe(samples: [Float], language: String? = nil) -> [Segment] {
        let (_, g) = model.spectrogram.full(samples: samples)
        var state = start(totalSamples: samples.count, globalMax: g, language: language)
        var out: [Segment] = []
        while let w = features(state, buffer: samples[...], bufferStart: 0) {
            out += advance(&state, window: w).segments
        }
        return out
    }
}
