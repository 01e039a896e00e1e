import Foundation
import HotFolder
import Logging
import MediaDecoding
import SystemPackage
import VoiceActivity
import Whisper

/// What `vad_filter` needs when a job runs: Silero VAD's weights and faster-whisper's options.
///
/// Exists so a transcriber either has a VAD (and cuts the silence out before the
/// log-mel pass, as faster-whisper's `transcribe(vad_filter=True)` does) or has none.
public struct SpeechDetection: Sendable {
    public let weights: SileroWeights
    public let options: VADOptions

    public init(weights: SileroWeights, options: VADOptions) {
        self.weights = weights
        self.options = options
    }

    /// Loads the model named by the configuration's `[vad]` section; nil when neither `vad_filter`
    /// nor batched mode is on.
    public static func load(_ config: Configuration) throws(VADError) -> SpeechDetection? {
        guard config.vad.runs else { return nil }
        return SpeechDetection(weights: try SileroWeights(path: config.resolve(config.vad.model)),
                               options: config.vad.batchSize > 1 ? config.vad.batchedOptions : config.vad.options)
    }
}

/// The VAD pass's result, journaled in a job's first checkpoint so a resumed job does not redo it.
struct SpeechRegions: Codable, Equatable {
    /// The speech chunks in samples of the original 16 kHz timeline.
    var chunks: [SpeechChunk]
    /// The original length in samples.
    var totalSamples: Int
}

extension WhisperTranscriber {
    /// Streams the whole file through the VAD (flat memory) and turns the probabilities into chunks.
    func detectSpeech(_ job: TranscriptionJob, _ detection: SpeechDetection,
                      options: DecoderOptions) throws(TranscriptionFailure) -> SpeechRegions {
        let name = job.displayName
        let decoder = try open(job.source.string, name: name, options: options)
        var vad = VoiceActivityDetector(weights: detection.weights)
        var probabilities: [Float] = []
        var total = 0
        var pass = PassProgress(job: job, phase: .vad, declaredSeconds: decoder.info.duration)
        while let chunk = try read(decoder, name: name) {
            total += chunk.count
            probabilities += vad.append(chunk)
            pass.passed(samples: total)
            if job.shouldStop() { throw .interrupted(name) }
        }
        probabilities += vad.finish()
        pass.finish()
        let chunks = SpeechTimestamps.chunks(probabilities: probabilities, sampleCount: total, options: detection.options)
        let speech = chunks.reduce(0) { $0 + $1.end - $1.start }
        job.logger.info("VAD kept \(chunks.count) speech chunks, \(String(format: "%.1f", Double(speech) / 16000)) of \(String(format: "%.1f", Double(total) / 16000)) s",
                        metadata: ["job.id": "\(name)"])
        return SpeechRegions(chunks: chunks, totalSamples: total)
    }
}

/// Tells the job how far a pass over the whole file has got, for `status`: at its start, each
/// time another twentieth of the file's declared length is passed, and at its end (about 22
/// journal lines a pass). Without a declared length only the start and the end are told.
struct PassProgress {
    let job: TranscriptionJob
    let phase: JobPhase
    /// The samples the container declares (nil or 0: unknown).
    let expected: Double
    var step = 0
    static let steps = 20

    init(job: TranscriptionJob, phase: JobPhase, declaredSeconds: Double?) {
        self.job = job
        self.phase = phase
        expected = (declaredSeconds ?? 0) * Double(LogMelSpectrogram.sampleRate)
        job.reportPhase(phase, 0)
    }

    /// `samples` of the file have been through the pass.
    mutating func passed(samples: Int) {
        guard expected.isFinite, expected > 0 else { return }
        let fraction = min(1, Double(samples) / expected)
        let reached = Int(fraction * Double(Self.steps))
        if reached > step, reached < Self.steps {
            step = reached
            job.reportPhase(phase, fraction)
        }
    }

    func finish() { job.reportPhase(phase, 1) }
}

/// The original-timeline sample where speech sample `position` (of the concatenated chunks) lies.
func originalSample(ofSpeechSample position: Int, chunks: [SpeechChunk]) -> Int {
    var before = 0
    for c in chunks {
        let length = c.end - c.start
        if position < before + length { return c.start + (position - before) }
        before += length
    }
    return chunks.last?.end ?? position
}

/// faster-whisper's `restore_speech_timestamps`: segment and word times from the concatenated
/// speech back to the original timeline. A segment with words takes its words' first start and
/// last end, each word mapped in the chunk of its midpoint; one without maps its start and end.
func restoreSpeechTimestamps(_ segments: [Whisper.Segment], chunks: [SpeechChunk]) -> [Whisper.Segment] {
    guard !chunks.isEmpty else { return segments }
    let map = SpeechTimestampsMap(chunks: chunks)
    return segments.map { segment in
        var s = segment
        if let words = s.words, !words.isEmpty {
            let mapped = words.map { w in
                var w = w
                let chunk = map.chunkIndex((w.start + w.end) / 2)
                w.start = map.originalTime(w.start, chunkIndex: chunk)
                w.end = map.originalTime(w.end, chunkIndex: chunk)
                return w
            }
            s.words = mapped
            s.start = mapped[0].start
            s.end = mapped[mapped.count - 1].end
        } else {
            s.start = map.originalTime(s.start)
            s.end = map.originalTime(s.end, isEnd: true)
        }
        return s
    }
}
