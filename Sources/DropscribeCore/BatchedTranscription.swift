import Foundation
import HotFolder
import MediaDecoding
import SystemPackage
import VoiceActivity
import Whisper

/// How far a batched job has got: journaled after every batch, so a resumed job starts at the
/// first piece of the first unfinished batch.
struct BatchProgress: Codable, Equatable {
    /// The first piece not transcribed yet.
    var nextPiece: Int
    /// The id of the last segment written (ids run on across batches).
    var lastSegmentId: Int
    /// The word-timestamp state carried from batch to batch (faster-whisper's `last_speech_timestamp`).
    var lastSpeech: Double
}

extension WhisperTranscriber {
    /// The most speech a piece holds: 30 s (the pipeline's `chunk_length`).
    static let pieceSamples = 30 * LogMelSpectrogram.sampleRate

    /// faster-whisper's `BatchedInferencePipeline.transcribe`: the VAD pass (journaled in the head
    /// line), the speech packed into pieces of at most 30 s, then `batchSize` pieces at a time
    /// through `BatchedTranscriber` with a checkpoint after each batch. A resumed job seeks the
    /// decoder to the first piece of its next batch; its outputs are those of an uninterrupted run.
    func transcribeBatched(_ job: TranscriptionJob, checkpoints: [Checkpoint], detection: SpeechDetection,
                           options decoderOptions: DecoderOptions) throws(TranscriptionFailure) -> TranscriptionResult {
        let name = job.displayName
        let rate = Double(LogMelSpectrogram.sampleRate)
        let batched = BatchedTranscriber(model: model, options: options)
        var head: Checkpoint
        if let first = checkpoints.first, first.speech != nil {
            head = first
            try job.checkLength(Double(head.totalSamples) / rate, declared: false)
        } else {
            let speech = try detectSpeech(job, detection, options: decoderOptions)
            guard speech.totalSamples > 0 else {
                throw TranscriptionFailure(kind: .corrupt, message: "\(name): no audio could be decoded")
            }
            try job.checkLength(Double(speech.totalSamples) / rate, declared: false)
            if speech.chunks.isEmpty {
                return result(segments: [], language: options.language ?? "en", probability: 1, samples: speech.totalSamples)
            }
            var language = (options.language ?? "en", Float(1))
            if options.language == nil, model.tokenizer.multilingual {
                language = try detectLanguage(job, speech: speech, batched: batched, options: decoderOptions)
            }
            head = Checkpoint(globalMax: 0, totalSamples: speech.totalSamples, language: language.0,
                              languageProbability: language.1, state: nil, segments: [], speech: speech,
                              batch: BatchProgress(nextPiece: 0, lastSegmentId: 0, lastSpeech: 0))
            try checkpoint(job, head, window: 0, progress: 0)
        }
        let chunks = head.speech?.chunks ?? []
        let pieces = SpeechPiece.pack(chunks, maxSamples: Self.pieceSamples)
        var done = checkpoints.last?.batch ?? head.batch ?? BatchProgress(nextPiece: 0, lastSegmentId: 0, lastSpeech: 0)
        var segments = checkpoints.flatMap(\.segments)
        var line = checkpoints.count
        let speechTotal = max(1, pieces.last.map { $0.offset + $0.count } ?? 1)
        if done.nextPiece < pieces.count {
            var stream = try SpeechStream(self, job, chunks: chunks, from: pieces[done.nextPiece].offset, options: decoderOptions)
            while done.nextPiece < pieces.count {
                let batch = pieces[done.nextPiece ..< min(done.nextPiece + batchSize, pieces.count)]
                var audio: [BatchedPieceAudio] = []
                for piece in batch {
                    audio.append(BatchedPieceAudio(samples: try stream.take(piece.offset ..< piece.offset + piece.count), offset: piece.offset))
                }
                if job.shouldStop() { throw .interrupted(name) }
                var lastSpeech = done.lastSpeech
                let new = batched.transcribe(audio, language: head.language, firstSegmentId: done.lastSegmentId + 1,
                                             lastSpeech: &lastSpeech)
                segments += new
                done = BatchProgress(nextPiece: done.nextPiece + batch.count, lastSegmentId: done.lastSegmentId + new.count,
                                     lastSpeech: lastSpeech)
                line += 1
                let fraction = Double(batch.last.map { $0.offset + $0.count } ?? 0) / Double(speechTotal)
                var entry = head
                entry.speech = nil
                entry.batch = done
                entry.segments = new
                try checkpoint(job, entry, window: line, progress: fraction)
                progress?(fraction)
            }
        }
        return result(segments: restoreSpeechTimestamps(segments, chunks: chunks), language: head.language,
                      probability: head.languageProbability, samples: head.totalSamples)
    }

    /// faster-whisper's batched language detection: on the first 30 s of the pieces' features
    /// (each piece with its own maximum) followed by one frame of −1.5.
    private func detectLanguage(_ job: TranscriptionJob, speech: SpeechRegions, batched: BatchedTranscriber,
                                options: DecoderOptions) throws(TranscriptionFailure) -> (String, Float) {
        let frames = 2 * model.dimensions.audioContext
        var stream = try SpeechStream(self, job, chunks: speech.chunks, from: 0, options: options)
        var columns: [Matrix] = []
        var have = 0
        for piece in SpeechPiece.pack(speech.chunks, maxSamples: Self.pieceSamples) where have < frames {
            let features = batched.features(try stream.take(piece.offset ..< piece.offset + piece.count)).features
            columns.append(features)
            have += features.cols
        }
        columns.append(Matrix(rows: model.dimensions.nMels, cols: 1, storage: [Float](repeating: -1.5, count: model.dimensions.nMels)))
        let joined = Matrix(concatenatingColumns: columns)
        let window = MelWindow(startFrame: 0, features: joined.columns(0, min(frames, joined.cols)))
        guard let top = model.detectLanguage(features: window).first else { return ("en", 1) }
        return (top.code, top.probability)
    }
}

/// The concatenated speech of a file, decoded forward from a given speech sample and handed
/// out in consecutive ranges.
///
/// Exists so batched mode holds only the batch it is transcribing, whatever the file's length.
struct SpeechStream {
    let transcriber: WhisperTranscriber
    let job: TranscriptionJob
    let decoder: AudioDecoder
    var filter: SpeechFilter
    var buffer: [Float] = []
    /// The speech sample buffer[0] is.
    var bufferStart: Int

    init(_ transcriber: WhisperTranscriber, _ job: TranscriptionJob, chunks: [SpeechChunk], from speechSample: Int,
         options: DecoderOptions) throws(TranscriptionFailure) {
        self.transcriber = transcriber
        self.job = job
        decoder = try transcriber.open(job.source.string, name: job.displayName, options: options)
        let original = speechSample > 0 ? originalSample(ofSpeechSample: speechSample, chunks: chunks) : 0
        if original > 0 {
            do { try decoder.seek(toSample: original) } catch {
                throw TranscriptionFailure(kind: .ioError, message: "\(job.displayName): cannot seek to the checkpoint: \(error)")
            }
        }
        filter = SpeechFilter(chunks: chunks, from: original)
        bufferStart = speechSample
    }

    /// The speech samples of `range`, which starts at or after the previous range's end.
    mutating func take(_ range: Range<Int>) throws(TranscriptionFailure) -> [Float] {
        while bufferStart + buffer.count < range.upperBound {
            guard let decoded = try transcriber.read(decoder, name: job.displayName) else {
                throw TranscriptionFailure(kind: .sourceChanged, message: "\(job.displayName): the audio ended early (the file changed?)")
            }
            buffer += filter.keep(decoded)
            if job.shouldStop() { throw .interrupted(job.displayName) }
        }
        let drop = max(0, min(buffer.count, range.lowerBound - bufferStart))
        buffer.removeFirst(drop)
        bufferStart += drop
        let out = Array(buffer[0 ..< range.count])
        buffer.removeFirst(range.count)
        bufferStart += range.count
        return out
    }
}
