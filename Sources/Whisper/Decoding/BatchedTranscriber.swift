import Foundation

/// One piece of speech for batched transcription: its samples and where they start in the
/// concatenated speech.
///
/// Exists so the caller (which streams the audio) hands the engine exactly what a piece of
/// faster-whisper's `collect_chunks` holds.
public struct BatchedPieceAudio: Sendable {
    public var samples: [Float]
    /// First sample in the concatenated speech (the piece's time offset × 16000).
    public var offset: Int

    public init(samples: [Float], offset: Int) {
        self.samples = samples
        self.offset = offset
    }
}

/// faster-whisper's `BatchedInferencePipeline` for one batch of speech pieces: features per
/// piece (each with its own log-mel maximum), the encoder per piece, one decoder pass for all
/// of them (`WhisperModel.decodeBatch`), and each piece's tokens split into segments.
///
/// Exists so the engine owns the batched decoding rules while the caller owns the audio
/// stream and the journal (one checkpoint per batch).
public struct BatchedTranscriber: Sendable {
    public let model: WhisperModel
    /// The options as the pipeline decodes with them (`batchedOptions`).
    public let options: DecodingOptions

    public init(model: WhisperModel, options: DecodingOptions) {
        self.model = model
        self.options = Self.batchedOptions(options)
    }

    /// What `BatchedInferencePipeline.transcribe` forces: no text carried between pieces, no
    /// timestamp tokens (its default), only the first temperature and no fallback, and
    /// CTranslate2's own first-timestamp limit (1 s).
    public static func batchedOptions(_ sequential: DecodingOptions) -> DecodingOptions {
        var o = sequential
        o.conditionOnPreviousText = false
        o.withoutTimestamps = true
        o.temperatures = [sequential.temperatures.first ?? 0]
        o.maxInitialTimestamp = 1.0
        return o
    }

    /// The prompt every piece gets: sot_prev + the initial prompt (encoded as given, without the
    /// leading space the sequential loop adds) and the hotwords, then the sot sequence.
    public func prompt(language: String) -> [Int] {
        let previous = options.initialPrompt.map { model.tokenizer.encode($0) } ?? []
        return model.prompt(previous: previous, language: language, task: options.task,
                            withoutTimestamps: options.withoutTimestamps, hotwords: options.hotwords)
    }

    /// The feature extractor on the piece alone (N // 160 + 1 frames, its own maximum), less the
    /// last frame, as the pipeline slices it; the encoder pads it to 3000 frames with zeros.
    public func features(_ samples: [Float]) -> MelWindow {
        let full = model.spectrogram.full(samples: samples).features
        return MelWindow(startFrame: 0, features: full.features.columns(0, max(0, full.frameCount - 1)))
    }

    /// The segments of one batch, numbered from `firstSegmentId`; times are in the concatenated
    /// speech (the caller maps them back). `lastSpeech` carries the word-timestamp state from
    /// piece to piece and batch to batch.
    public func transcribe(_ batch: [BatchedPieceAudio], language: String, firstSegmentId: Int,
                           lastSpeech: inout Double) -> [Segment] {
        let crosses = batch.map { model.crossAttentionCache(model.encode(features($0.samples))) }
        let results = model.decodeBatch(crosses, prompt: prompt(language: language), options: options)
        let tk = model.tokenizer
        let longForm = LongFormTranscriber(model: model, options: options)
        var segments: [Segment] = []
        for (i, piece) in batch.enumerated() {
            let r = results[i]
            let offset = Double(piece.offset) / Double(LogMelSpectrogram.sampleRate)
            let duration = Double(piece.samples.count) / Double(LogMelSpectrogram.sampleRate)
            let segmentSize = Int(duration.rounded(.up)) * LogMelSpectrogram.framesPerSecond
            let seek = Int(offset * Double(LogMelSpectrogram.framesPerSecond))
            let split = WindowSplit.split(tokens: r.tokens, timestampBegin: tk.timestampBegin, timeOffset: offset,
                                          segmentSize: segmentSize, segmentDuration: duration)
            var pieces = split.pieces.map { WordedPiece(start: $0.start, end: $0.end, tokens: $0.tokens) }
            if options.wordTimestamps {
                longForm.addWordTimestamps(&pieces, cross: crosses[i], seek: seek, segmentSize: segmentSize,
                                           language: language, lastSpeech: lastSpeech)
                if let end = pieces.last(where: { !$0.words.isEmpty })?.end { lastSpeech = end }
            }
            for p in pieces {
                let text = tk.decode(p.tokens)
                segments.append(Segment(id: firstSegmentId + segments.count, seek: seek,
                                        start: PythonRounding.round(p.start, digits: 3), end: PythonRounding.round(p.end, digits: 3),
                                        text: text, tokens: p.tokens, temperature: r.temperature, avgLogprob: r.avgLogprob,
                                        compressionRatio: model.compressionRatio(text), noSpeechProb: r.noSpeechProb,
                                        words: options.wordTimestamps ? p.words : nil))
            }
        }
        return segments
    }
}
