import DropscribeCore
import Foundation
import Glibc
import HotFolder
import Logging
import Synchronization
import SystemPackage
import Transcripts
import Testing
import VoiceActivity
import Whisper

/// Batched mode (`batch_size`): transcripts as faster-whisper's `BatchedInferencePipeline`
/// (batch_size=8) writes them (goldens by Tests/Golden/batched/make-batched-goldens.py on the
/// same samples), and a worker killed three times during a VAD+batched job in the daemon
/// leaves outputs byte-identical to an uninterrupted run.
@Suite(.serialized, .hangGuard,
       .enabled(if: Assets.available && FileManager.default.fileExists(atPath: Assets.models + "/silero_vad_v6.onnx"),
                "run `make test` to fetch the models and build the corpus"))
struct BatchedTranscriptionTests {
    static let logger = Logger(label: "batched-test")

    struct Segment: Decodable, Equatable { var seek: Int; var start: Double; var end: Double; var text: String }
    struct Segments: Decodable { var segments: [Segment] }

    @Test(arguments: ["long-01min.flac", "long-gaps.flac"])
    func piecesMatchFasterWhisperBatched(file: String) throws {
        let golden = try JSONDecoder().decode(Segments.self, from: Data(contentsOf: URL(fileURLWithPath:
            Binary.repositoryRoot + "/Tests/Golden/batched/\(file)-tiny.en-batch8.json"))).segments
        let model = try WhisperModel.load(directory: Assets.tinyEn, threads: 2, computeType: .float32)
        var config = try Configuration.parse("batch_size = 8")
        config.vad.model = Assets.models + "/silero_vad_v6.onnx"
        var t = WhisperTranscriber(model: model, options: config.model.decodingOptions, formats: [.json], modelName: "tiny.en")
        t.batchSize = config.vad.batchSize
        t.speechDetection = try SpeechDetection.load(config)
        let lines = Mutex(0)
        let path = Assets.corpus + "/long/" + file
        let job = TranscriptionJob(source: FilePath(path), displayName: file, journal: [],
                                   checkpoint: { _ in lines.withLock { $0 += 1 } }, shouldStop: { false }, logger: Self.logger)
        let json = try #require(try t.transcribe(job).outputs.first).contents
        let ours = try JSONDecoder().decode(Segments.self, from: Data(json)).segments
        let sameText = zip(golden, ours).filter { $0.text == $1.text }.count
        let same = zip(golden, ours).filter { $0 == $1 }.count
        print("batched parity \(file): \(sameText)/\(golden.count) pieces' text identical, \(same)/\(golden.count) with seek, start and end")
        #expect(ours.count == golden.count)
        #expect(Double(sameText) >= 0.95 * Double(golden.count))
        #expect(Double(same) >= 0.95 * Double(golden.count))
        #expect(lines.withLock { $0 } == 2, "the head line (the VAD's speech) and one batch of 8 pieces")
    }

    /// Batch size 2 on long-gaps (3 pieces): the VAD's head line, then two batches. The kills
    /// come after the head line (attempt 1), after the first batch (attempt 2), and as soon as
    /// attempt 3 runs; each decided from the journal's lines, the lease's attempt and the pids.
    @Test func aWorkerKilledThreeTimesDuringABatchedJobResumesToByteIdenticalOutputs() throws {
        let vadModel = Assets.models + "/silero_vad_v6.onnx"
        let ws = Workspace(config: RealModel.config("batch_size = 2\n[vad]\nmodel = \"\(vadModel)\"", model: "word_timestamps = true"))
        let source = Assets.corpus + "/long/long-gaps.flac"
        let refDir = ws.root + "/reference"
        let (status, _, err) = try Binary.run(["transcribe", source, "--config", ws.configFile, "--output-dir", refDir,
                                               "--format", "txt,srt,vtt,tsv,json"])
        #expect(status == 0, "\(err)")

        try FileManager.default.copyItem(atPath: source, toPath: ws.inbox + "/gaps.flac")
        let marker = ws.inbox + "/gaps.flac.processing"
        let daemon = try ws.startRealDaemon()
        let killed = killWorkers(atJournalLines: [1, 2, 2], marker: marker, daemon: daemon, seconds: 300)   // head + k batches
        #expect(waitUntil(seconds: 600, poll: 0.5) { FileManager.default.fileExists(atPath: ws.inbox + "/gaps.flac.done") },
                "\(daemon.log.suffix(3000))")
        #expect(daemon.terminate() == 0)
        #expect(killed.count == 3)
        let done = (try? String(contentsOfFile: ws.inbox + "/gaps.flac.done", encoding: .utf8)) ?? ""
        #expect(done.contains("\"attempts\":4"), "three kills, three retries: \(done)")
        for ext in ["txt", "srt", "vtt", "tsv", "json"] {
            let a = FileManager.default.contents(atPath: refDir + "/long-gaps.flac.\(ext)")
            let b = FileManager.default.contents(atPath: ws.inbox + "/gaps.flac.\(ext)")
            #expect(a != nil && a == b, "gaps.flac.\(ext) differs from the uninterrupted run")
        }
        let txt = (try? String(contentsOfFile: ws.inbox + "/gaps.flac.txt", encoding: .utf8)) ?? ""
        #expect(txt.split(separator: "\n").count == 3, "one line per piece: \(txt)")
        let json = (try? String(contentsOfFile: ws.inbox + "/gaps.flac.json", encoding: .utf8)) ?? ""
        #expect(json.components(separatedBy: "\"probability\"").count > 20, "word timings in the json")
    }
}
