import Foundation
import HotFolder
import Logging
import MediaDecoding
import SystemPackage
import Transcripts
import VoiceActivity
import Whisper

/// The production transcriber: FFmpeg decoding streamed into the Whisper
/// engine's long-form loop, one 30-second window at a time, with a checkpoint
/// journaled after every window.
///
/// Memory stays at the model plus one window whatever the file's length: a
/// first streaming pass computes the file-wide log-mel maximum (journaled, so
/// a resumed job skips it), then the second pass keeps only the samples the
/// next window needs. A resumed job seeks the decoder to its checkpoint, and
/// its outputs are byte-identical to an uninterrupted run's.
public struct WhisperTranscriber: Transcriber {
    public let model: WhisperModel
    public let options: DecodingOptions
    public let formats: [OutputFormat]
    public let modelName: String
    /// Called after each window with the fraction done (for a progress bar).
    public var progress: (@Sendable (Double) -> Void)?
    /// Whether playlists, concat lists and image sequences may be decoded (`[media] allow_playlists`).
    public var allowPlaylists = false
    /// The VAD when `vad_filter` is on: only the speech it finds is transcribed (SpeechPass.swift).
    public var speechDetection: SpeechDetection?
    /// Above 1 (with a VAD), faster-whisper's batched pipeline: pieces of speech of up to 30 s,
    /// this many decoded together (BatchedTranscription.swift).
    public var batchSize = 1

    public init(model: WhisperModel, options: DecodingOptions, formats: [OutputFormat], modelName: String) {
        self.model = model
        self.options = options
        self.formats = formats
        self.modelName = modelName
    }

    /// What each journal line holds for this transcriber.
    struct Checkpoint: Codable {
        var globalMax: Float
        var totalSamples: Int
        var language: String
        var languageProbability: Float
        /// Nil in the first line, written after the prepass.
        var state: TranscriptionState?
        /// The segments this window added (all segments = the concatenation over the journal).
        var segments: [Whisper.Segment]
        /// With `vad_filter`, in the first line only: the speech found; `totalSamples` then counts its samples.
        var speech: SpeechRegions? = nil
        /// In batched mode, every line: the pieces done so far (the head line: none).
        var batch: BatchProgress? = nil
    }

    public func transcribe(_ job: TranscriptionJob) throws(TranscriptionFailure) -> TranscriptionResult {
        let name = job.displayName
        var (checkpoints, undecodable) = Self.checkpoints(in: job.journal)
        if let undecodable {
            job.logger.warning("checkpoint \(undecodable.index) of the journal cannot be decoded; transcribing again from there",
                               metadata: ["job.id": "\(name)", "checkpoint": "\(undecodable.index)", "error": "\(undecodable.error)"])
        }
        let batched = batchSize > 1 && speechDetection != nil
        if let head = checkpoints.first, (head.batch != nil) != batched {
            job.logger.warning("the journal was written in \(batched ? "sequential" : "batched") mode; transcribing again from the start",
                               metadata: ["job.id": "\(name)"])
            checkpoints = []
        }
        if let size = try? FileManager.default.attributesOfItem(atPath: job.source.string)[.size] as? Int, size == 0 {
            throw TranscriptionFailure(kind: .emptyFile, message: "\(name): the file is empty")
        }
        var decoderOptions = DecoderOptions(logger: job.logger, allowPlaylists: allowPlaylists)
        decoderOptions.followSymlinks = !job.refuseSymlinks
        if batched, let speechDetection {
            return try transcribeBatched(job, checkpoints: checkpoints, detection: speechDetection, options: decoderOptions)
        }
        let longForm = LongFormTranscriber(model: model, options: options)

        // Pass 1: the file-wide maximum G and the length, in constant memory.
        var head: Checkpoint
        let rate = Double(LogMelSpectrogram.sampleRate)
        if let first = checkpoints.first {
            head = first
            try job.checkLength(Double(head.totalSamples) / rate, declared: false)
        } else {
            // With the VAD, a first pass finds the speech; the passes below see only its samples.
            var speech: SpeechRegions? = nil
            if let speechDetection { speech = try detectSpeech(job, speechDetection, options: decoderOptions) }
            var filter = speech.map { SpeechFilter(chunks: $0.chunks) }
            if let speech, speech.totalSamples > 0, speech.chunks.isEmpty {
                return result(segments: [], language: options.language ?? "en", probability: 1, samples: speech.totalSamples)
            }
            let decoder = try open(job.source.string, name: name, options: decoderOptions)
            // A header can declare days of audio in a sparse file: refused before decoding it.
            if let declared = decoder.info.duration { try job.checkLength(declared, declared: true) }
            var acc = MelMaxAccumulator(spectrogram: model.spectrogram)
            var firstWindow: [Float] = []
            let firstWindowSamples = longForm.firstWindowSampleCount
            var reported = 0.0
            var pass = PassProgress(job: job, phase: .levels, declaredSeconds: decoder.info.duration)
            var passed = 0
            while let samples = try read(decoder, name: name) {
                passed += samples.count
                pass.passed(samples: passed)
                let chunk = filter?.keep(samples) ?? samples
                if firstWindow.count < firstWindowSamples { firstWindow += chunk.prefix(firstWindowSamples - firstWindow.count) }
                acc.feed(chunk)
                if job.shouldStop() { throw .interrupted(name) }
                // The declared length may be missing or false: what is decoded counts too.
                let decoded = Double(acc.sampleCount) / rate
                if decoded >= reported + 600 || job.limits.isTooLong(audioSeconds: decoded) {
                    try job.checkLength(decoded, declared: false)
                    reported = decoded
                }
            }
            pass.finish()
            for w in decoder.warnings { job.logger.warning("\(w)", metadata: ["job.id": "\(name)"]) }
            let total = acc.sampleCount
            let g = acc.finish()
            guard total > 0 else {
                throw TranscriptionFailure(kind: .corrupt, message: "\(name): no audio could be decoded")
            }
            var language = options.language ?? "en"
            var probability: Float = 1
            if options.language == nil, model.tokenizer.multilingual {
                let features = longForm.firstWindowFeatures(samples: firstWindow[...], totalSamples: total, globalMax: g)
                if let top = model.detectLanguage(features: features).first {
                    language = top.code
                    probability = top.probability
                }
            }
            try job.checkLength(Double(total) / rate, declared: false)
            head = Checkpoint(globalMax: g, totalSamples: total, language: language, languageProbability: probability,
                              state: nil, segments: [], speech: speech)
            try checkpoint(job, head, window: 0, progress: 0)
        }

        // Pass 2: window by window from the last checkpoint.
        var state = checkpoints.last?.state
            ?? longForm.start(totalSamples: head.totalSamples, globalMax: head.globalMax, language: head.language)
        var segments = checkpoints.flatMap(\.segments)
        var window = checkpoints.count
        if !state.isFinished {
            let decoder = try open(job.source.string, name: name, options: decoderOptions)
            var stream = longForm.windowStream(resuming: state)
            // With the VAD, the stream's samples are speech samples: the decoder seeks to the original one.
            let resumeAt = stream.nextSample > 0 ? head.speech.map { originalSample(ofSpeechSample: stream.nextSample, chunks: $0.chunks) } : nil
            var filter = head.speech.map { SpeechFilter(chunks: $0.chunks, from: resumeAt ?? 0) }
            if stream.nextSample > 0 {
                do { try decoder.seek(toSample: resumeAt ?? stream.nextSample) } catch {
                    throw TranscriptionFailure(kind: .ioError, message: "\(name): cannot seek to the checkpoint: \(error)")
                }
            }
            windows: while true {
                let features: MelWindow
                switch longForm.nextStep(state, stream: &stream) {
                case .finished:
                    break windows
                case .needsSamples:
                    guard let decoded = try read(decoder, name: name) else {
                        // The file is shorter now than in the first pass: it changed under us.
                        throw TranscriptionFailure(kind: .sourceChanged, message: "\(name): the audio ended early (the file changed?)")
                    }
                    let chunk = filter?.keep(decoded) ?? decoded
                    if !chunk.isEmpty { stream.feed(chunk) }
                    continue windows
                case .window(let ready):
                    features = ready
                }
                if job.shouldStop() { throw .interrupted(name) }
                let outcome = longForm.advance(&state, window: features)
                segments += outcome.segments
                window += 1
                let fraction = Double(min(state.seek, state.contentFrames)) / Double(max(1, state.contentFrames))
                var line = head
                line.state = state
                line.segments = outcome.segments
                line.speech = nil
                try checkpoint(job, line, window: window, progress: fraction)
                progress?(fraction)
            }
        }

        return result(segments: restoreSpeechTimestamps(segments, chunks: head.speech?.chunks ?? []), language: head.language,
                      probability: head.languageProbability, samples: head.speech?.totalSamples ?? head.totalSamples)
    }

    /// The outputs for `segments` of a file of `samples` samples.
    func result(segments: [Whisper.Segment], language: String, probability: Float, samples: Int) -> TranscriptionResult {
        let transcript = Transcript(
            language: language, languageProbability: Double(probability),
            duration: Double(samples) / Double(LogMelSpectrogram.sampleRate),
            segments: segments.map {
                Transcript.Segment(id: $0.id, seek: $0.seek, start: $0.start, end: $0.end, text: $0.text, tokens: $0.tokens,
                                   temperature: Double($0.temperature), avgLogprob: Double($0.avgLogprob),
                                   compressionRatio: Double($0.compressionRatio), noSpeechProb: Double($0.noSpeechProb),
                                   words: $0.words?.map { Transcript.Word(start: $0.start, end: $0.end, word: $0.word,
                                                                          probability: Double($0.probability)) })
            })
        return TranscriptionResult(outputs: formats.map { ($0.fileExtension, $0.renderBytes(transcript)) },
                                   audioDuration: transcript.duration, model: modelName)
    }

    /// The journal's checkpoints up to the first that cannot be decoded (with its index and
    /// why): from that one on the journal counts as absent, so its window and those after
    /// are transcribed again rather than their segments silently missing from the output.
    static func checkpoints(in journal: [JournalEntry]) -> (checkpoints: [Checkpoint], undecodable: (index: Int, error: any Error)?) {
        var checkpoints: [Checkpoint] = []
        for (index, entry) in journal.enumerated() {
            do {
                checkpoints.append(try JSONDecoder().decode(Checkpoint.self, from: Data(entry.state.utf8)))
            } catch {
                return (checkpoints, (index, error))
            }
        }
        return (checkpoints, nil)
    }

    func checkpoint(_ job: TranscriptionJob, _ c: Checkpoint, window: Int, progress: Double) throws(TranscriptionFailure) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            let text = String(decoding: try encoder.encode(c), as: UTF8.self)
            try job.checkpoint(JournalEntry(window: window, progress: progress, time: Date().timeIntervalSince1970, state: text))
        } catch let e as Errno where e == .noSpace || e == .diskQuotaExceeded {
            throw TranscriptionFailure(kind: .diskFull, message: "\(job.displayName): disk full while journaling a checkpoint")
        } catch {
            throw TranscriptionFailure(kind: .ioError, message: "\(job.displayName): cannot journal a checkpoint: \(error)")
        }
    }

    func open(_ path: String, name: String, options: DecoderOptions) throws(TranscriptionFailure) -> AudioDecoder {
        do { return try AudioDecoder(path: path, options: options) } catch { throw Self.failure(error, name: name) }
    }

    func read(_ decoder: AudioDecoder, name: String) throws(TranscriptionFailure) -> [Float]? {
        do { return try decoder.next() } catch { throw Self.failure(error, name: name) }
    }

    /// Maps the decoder's error codes onto the queue's failure kinds.
    static func failure(_ error: MediaError, name: String) -> TranscriptionFailure {
        let kind: FailureKind
        switch error.code {
        case .notMediaFile: kind = .notMedia
        case .noAudioStream: kind = .noAudioStream
        case .unsupportedCodec: kind = .unsupportedCodec
        case .nothingDecodable: kind = .corrupt
        case .permissionDenied: kind = .badInput
        case .refusedFormat: kind = .refusedFormat
        case .notFound, .ioError, .timedOut: kind = .ioError
        default: kind = error.isPermanent ? .badInput : .ioError
        }
        return TranscriptionFailure(kind: kind, message: error.description)
    }
}

/// Builds the engine's decoding options from the configuration's `[model]` section.
extension Configuration.ModelSection {
    public var decodingOptions: DecodingOptions {
        var o = DecodingOptions()
        o.beamSize = beamSize
        o.bestOf = bestOf
        o.patience = Float(patience)
        o.lengthPenalty = Float(lengthPenalty)
        o.temperatures = temperatures.map { Float($0) }
        o.compressionRatioThreshold = Float(compressionRatioThreshold)
        o.logProbThreshold = Float(logProbThreshold)
        o.noSpeechThreshold = Float(noSpeechThreshold)
        o.conditionOnPreviousText = conditionOnPreviousText
        o.language = language.isEmpty ? nil : language
        o.task = task
        o.initialPrompt = initialPrompt.isEmpty ? nil : initialPrompt
        o.hotwords = hotwords.isEmpty ? nil : hotwords
        o.wordTimestamps = wordTimestamps
        o.prependPunctuations = prependPunctuations
        o.appendPunctuations = appendPunctuations
        return o
    }
}
