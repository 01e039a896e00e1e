import DropscribeCore
import Foundation
import HotFolder
import Logging
import Synchronization
import SystemPackage
import Testing
import Transcripts
import VoiceActivity
import Whisper

/// `vad_filter` in the transcriber: silence and noise give nothing, speech is transcribed as
/// faster-whisper transcribes it with `vad_filter=True` (golden by
/// Tests/VoiceActivityTests/make-vad-goldens.py --transcripts), and a resumed job uses the
/// journaled VAD result and writes the bytes of an uninterrupted run.
@Suite(.hangGuard, .enabled(if: Assets.available && FileManager.default.fileExists(atPath: Assets.models + "/silero_vad_v6.onnx"),
                            "run `make test` to fetch the models and build the corpus"))
struct VADTranscriptionTests {
    static let logger = Logger(label: "vad-test")

    func transcriber(_ options: VADOptions = VADOptions()) throws -> WhisperTranscriber {
        let model = try WhisperModel.load(directory: Assets.tinyEn, threads: 2, computeType: .float32)
        var t = WhisperTranscriber(model: model, options: Configuration().model.decodingOptions, formats: [.json, .txt], modelName: "tiny.en")
        t.speechDetection = SpeechDetection(weights: try SileroWeights(path: Assets.models + "/silero_vad_v6.onnx"), options: options)
        return t
    }

    /// Runs `transcriber` on `path` with `journal` carried over; returns the result and the lines it journaled.
    func run(_ transcriber: WhisperTranscriber, _ path: String, journal: [JournalEntry] = []) throws -> (TranscriptionResult, [JournalEntry]) {
        let lines = Mutex<[JournalEntry]>([])
        let job = TranscriptionJob(source: FilePath(path), displayName: (path as NSString).lastPathComponent, journal: journal,
                                   checkpoint: { entry in lines.withLock { $0.append(entry) } }, shouldStop: { false },
                                   logger: Self.logger)
        let result = try transcriber.transcribe(job)
        return (result, lines.withLock { $0 })
    }

    @Test func sixtySecondsOfSilenceOrNoiseGiveAnEmptyTranscript() throws {
        let folder = NSTemporaryDirectory() + "dropscribe-vad-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var x: UInt32 = 12345
        let noise = (0..<960_000).map { _ -> Float in
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            return Float((Double(x) / 4294967296.0 - 0.5) * 0.2)
        }
        let t = try transcriber()
        for (name, samples) in [("silence.wav", [Float](repeating: 0, count: 960_000)), ("noise.wav", noise)] {
            let path = folder + "/" + name
            try wav16(samples).write(to: URL(fileURLWithPath: path))
            let (result, journal) = try run(t, path)
            let json = try #require(result.outputs.first { $0.fileExtension == "json" })
            let transcript = try JSONSerialization.jsonObject(with: Data(json.contents)) as? [String: Any]
            #expect((transcript?["segments"] as? [Any])?.isEmpty == true, "\(name): \(String(decoding: json.contents, as: UTF8.self))")
            #expect(result.outputs.first { $0.fileExtension == "txt" }?.contents.isEmpty == true, "\(name)")
            #expect(result.audioDuration == 60, "\(name): the duration is the file's, not the speech's")
            #expect(journal.isEmpty, "\(name): nothing to journal when there is no speech")
        }
    }

    @Test func speechMatchesFasterWhisperAndAResumedJobUsesTheJournaledVAD() throws {
        struct Segment: Decodable, Equatable { var start: Double; var end: Double; var text: String }
        struct Golden: Decodable { var segments: [Segment] }
        struct Ours: Decodable { var segments: [Segment] }
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath:
            Binary.repositoryRoot + "/Tests/Golden/vad/long-01min.flac-tiny.en-vad.json")))
        let path = Assets.corpus + "/long/long-01min.flac"
        let (whole, journal) = try run(try transcriber(), path)
        let json = try #require(whole.outputs.first { $0.fileExtension == "json" }).contents
        let ours = try JSONDecoder().decode(Ours.self, from: Data(json))
        let same = zip(golden.segments, ours.segments).filter { $0 == $1 }.count
        print("VAD transcript parity long-01min: \(same)/\(golden.segments.count) segments identical (text, start, end)")
        #expect(ours.segments.count == golden.segments.count)
        #expect(Double(same) >= 0.95 * Double(golden.segments.count))
        #expect(whole.audioDuration == 60)

        // The VAD's chunks are in the first journal line; a resumed job takes them from there
        // (a VAD with other options would find other chunks) and seeks into the speech.
        try #require(journal.count >= 3, "expected a head line and at least two windows, got \(journal.count) lines")
        #expect(journal[0].state.contains("\"speech\""))
        #expect(!journal[1].state.contains("\"speech\""))
        var other = VADOptions()
        other.threshold = 0.9
        other.speechPadMs = 30
        // Only the last window is transcribed again (cheap), from a seek into the middle of the speech.
        let (resumed, redone) = try run(try transcriber(other), path, journal: Array(journal.dropLast()))
        #expect(redone.count == 1)
        #expect(resumed.outputs.map(\.contents) == whole.outputs.map(\.contents))
    }

    /// While the passes before the first checkpoint run, their progress lines reach the job's
    /// marker and `status` shows them: the VAD pass from 0 to 100% of the file's samples in
    /// twentieths, then (sequential mode) the level pass, then the job's own progress. The job
    /// is stopped at its first window, so only the passes run.
    @Test(arguments: [1, 8]) func statusFollowsTheVADPassThroughTheFile(batchSize: Int) throws {
        let ws = Workspace()
        defer { withExtendedLifetime(ws) {} }
        let path = ws.inbox + "/talk.flac"
        try FileManager.default.copyItem(atPath: Assets.corpus + "/long/long-01min.flac", toPath: path)
        let layout = InboxLayout(root: FilePath(ws.inbox))
        let queue = JobQueue(layout: layout, options: QueueOptions())
        let job = layout.job(relativePath: "talk.flac")
        try queue.markPending(job, fingerprint: try Fingerprint.of(job.path), now: 0)
        _ = try #require(try queue.claim(job, now: 0))
        let seen = Mutex<[String]>([])
        let checkpoints = Mutex(0)
        @Sendable func append(_ entry: JournalEntry) throws {
            let fd = try FileDescriptor.open(job.marker(.processing), .writeOnly, options: [.append])
            defer { try? fd.close() }
            _ = try fd.writeAll(Array(try JSONEncoder().encode(entry)) + [10])
            let running = StatusReport.collect(layout: layout, options: QueueOptions()).processing.first
            seen.withLock { $0.append(running.map { r in r.phase.map { "\($0) \(r.phasePercent ?? -1)" } ?? "window \(r.percent)" } ?? "none") }
        }
        var t = try transcriber()
        t.batchSize = batchSize
        var transcription = TranscriptionJob(source: FilePath(path), displayName: "talk.flac", journal: [],
                                             checkpoint: { entry in try append(entry); checkpoints.withLock { $0 += 1 } },
                                             shouldStop: { checkpoints.withLock { $0 > 0 } }, logger: Self.logger)
        transcription.reportPhase = { phase, fraction in try? append(.progress(phase, fraction: fraction, time: 0)) }
        #expect(throws: TranscriptionFailure.self) { try t.transcribe(transcription) }
        let lines = seen.withLock { $0 }
        let twentieths = (0...20).map { "vad \(Double($0 * 5))" }
        let vad = lines.filter { $0.hasPrefix("vad ") }
        #expect(vad.count == 21 && vad.first == "vad 0.0" && vad.last == "vad 100.0", "\(lines)")
        // Each line is the first decoded chunk past its twentieth: a little past it, never before.
        for (line, floor) in zip(vad, twentieths) {
            let value = Double(line.dropFirst(4)) ?? -1, step = Double(floor.dropFirst(4)) ?? 0
            #expect(value >= step && value < step + 5, "\(line) should be in its twentieth \(floor)")
        }
        let afterVAD = Array(lines.drop { $0.hasPrefix("vad ") })
        if batchSize == 1 {
            #expect(afterVAD.first == "levels 0.0" && afterVAD.filter { $0.hasPrefix("levels ") }.count == 21, "\(lines)")
        }
        #expect(afterVAD.last == "window 0.0", "the head checkpoint ends the passes: \(lines)")
        #expect(lines.count == vad.count + (batchSize == 1 ? 21 : 0) + 1, "\(lines)")
    }

    /// 16-bit mono 16 kHz WAV bytes.
    func wav16(_ samples: [Float]) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples.count * 2))
        d.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(1); u32(16000); u32(32000); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(samples.count * 2))
        for s in samples { u16(UInt16(bitPattern: Int16(max(-1, min(1, s)) * 32767))) }
        return d
    }
}
