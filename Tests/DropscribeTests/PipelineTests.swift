import Foundation
import Glibc
import Testing

/// The whole service on real audio and the real model: the daemon as a user starts it.
@Suite(.serialized, .hangGuard, .enabled(if: Assets.available, "run `make test` to fetch the model and build the corpus"))
struct PipelineTests {
    @Test func corpusFilesOfEveryKindEndDoneWithAllOutputsOrFailedWithTheRightKind() throws {
        let ws = Workspace(config: RealModel.config())
        let formats = Assets.corpus + "/formats/"
        let bad = Assets.corpus + "/bad/"
        let good = ["sample.mp3", "sample.flac", "sample.m4a", "sample.ogg", "sample-video.mp4", "sample-44k-stereo.wav"]
        for f in good { try FileManager.default.copyItem(atPath: formats + f, toPath: ws.inbox + "/" + f) }
        let expectedFailures = ["text.mp3": "not-media", "empty.mp3": "empty-file", "video-no-audio.mp4": "no-audio-stream"]
        for f in expectedFailures.keys { try FileManager.default.copyItem(atPath: bad + f, toPath: ws.inbox + "/" + f) }
        try FileManager.default.copyItem(atPath: bad + "silence-60s.wav", toPath: ws.inbox + "/silence-60s.wav")
        try FileManager.default.copyItem(atPath: bad + "name with spaces.wav", toPath: ws.inbox + "/-leading dash ü.wav")
        let all = good + ["silence-60s.wav", "-leading dash ü.wav"]
        let daemon = try ws.startRealDaemon()
        let finished = waitUntil(seconds: 400, poll: 0.5) {
            ws.count(suffix: ".done") == all.count && ws.count(suffix: ".failed") == expectedFailures.count
        }
        #expect(finished, "\(ws.names())\n\(daemon.log.suffix(4000))")
        #expect(daemon.terminate() == 0)
        for f in all {
            for ext in ["txt", "srt", "vtt", "tsv", "json"] {
                #expect(FileManager.default.fileExists(atPath: ws.inbox + "/\(f).\(ext)"), "\(f).\(ext)")
            }
        }
        for f in good {
            let text = (try? String(contentsOfFile: ws.inbox + "/\(f).txt", encoding: .utf8)) ?? ""
            #expect(text.lowercased().contains("rural schools"), "\(f): \(text)")
        }
        // faster-whisper (tiny.en, beam 5) itself hallucinates " You" twice on 60 s of digital zero
        // (no_speech_prob 0.95 but avg_logprob -0.68 > -1, so its no-speech rule keeps it): we match it.
        let silence = (try? String(contentsOfFile: ws.inbox + "/silence-60s.wav.txt", encoding: .utf8)) ?? "?"
        #expect(silence.split(whereSeparator: \.isWhitespace).count <= 2, "silence gives at most faster-whisper's two 'You': \(silence)")
        for (f, kind) in expectedFailures {
            let marker = (try? String(contentsOfFile: ws.inbox + "/\(f).failed", encoding: .utf8)) ?? ""
            #expect(marker.contains("\"kind\":\"\(kind)\""), "\(f): \(marker)")
            #expect(marker.contains(f), "the message names the file: \(marker)")
        }
        let done = try String(contentsOfFile: ws.inbox + "/sample.mp3.done", encoding: .utf8)
        for key in ["audio_duration", "wall_time", "real_time_factor", "peak_rss_bytes", "\"model\":\"tiny.en\"", "outputs", "source_size", "source_mtime_ns"] {
            #expect(done.contains(key), "X.done records \(key)")
        }
        let (_, out, _) = try Binary.run(["status", ws.inbox, "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(json["counts"] as? [String: Int] == ["pending": 0, "processing": 0, "done": all.count, "failed": expectedFailures.count])
    }

    /// A file of several windows made from corpus clips.
    func multiWindowFile(in ws: Workspace) throws -> String {
        let clips = (1...9).map { String(format: "%@/clips/clip-%02d.wav", Assets.corpus, $0) }
        let out = ws.root + "/multi.wav"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sox")
        p.arguments = clips + [out]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return out
    }

    /// With word timestamps on, so the journaled state carries the last word's end
    /// (which moves the seek) and the outputs hold words.
    @Test func aWorkerKilledAtThreeWindowsResumesToByteIdenticalOutputs() throws {
        let ws = Workspace(config: RealModel.config(model: "word_timestamps = true"))
        let source = try multiWindowFile(in: ws)
        // The uninterrupted reference, by the one-shot command (same engine, same outputs).
        let refDir = ws.root + "/reference"
        let (status, _, err) = try Binary.run(["transcribe", source, "--config", ws.configFile, "--output-dir", refDir,
                                               "--format", "txt,srt,vtt,tsv,json"])
        #expect(status == 0, "\(err)")

        try FileManager.default.copyItem(atPath: source, toPath: ws.inbox + "/multi.wav")
        let marker = ws.inbox + "/multi.wav.processing"
        let daemon = try ws.startRealDaemon()
        // The third kill comes as soon as attempt 3 holds the lease and its worker runs, with two
        // windows carried over: waiting for a third window would race the job's end (the file has three).
        let killed = killWorkers(atJournalLines: [2, 3, 3], marker: marker, daemon: daemon)   // prepass + k windows
        #expect(waitUntil(seconds: 300, poll: 0.5) { FileManager.default.fileExists(atPath: ws.inbox + "/multi.wav.done") },
                "\(daemon.log.suffix(3000))")
        #expect(daemon.terminate() == 0)
        #expect(killed.count == 3)
        // Every kill was a transient failure of the job: the fourth attempt finished it.
        let done = (try? String(contentsOfFile: ws.inbox + "/multi.wav.done", encoding: .utf8)) ?? ""
        #expect(done.contains("\"attempts\":4"), "three kills, three retries: \(done)")
        for ext in ["txt", "srt", "vtt", "tsv", "json"] {
            let a = FileManager.default.contents(atPath: refDir + "/multi.wav.\(ext)")
            let b = FileManager.default.contents(atPath: ws.inbox + "/multi.wav.\(ext)")
            #expect(a != nil && a == b, "multi.wav.\(ext) differs from the uninterrupted run")
        }
        let txt = (try? String(contentsOfFile: ws.inbox + "/multi.wav.txt", encoding: .utf8)) ?? ""
        #expect(txt.split(separator: "\n").count >= 5, "\(txt)")
        let json = (try? String(contentsOfFile: ws.inbox + "/multi.wav.json", encoding: .utf8)) ?? ""
        #expect(json.components(separatedBy: "\"probability\"").count > 20, "word timings in the json")
    }
}

/// Kills the job's worker once per entry of `lines`: kill k waits for attempt k+1 to hold the
/// lease with at least lines[k] checkpoints after it, and for a worker not killed before —
/// decided from the marker and the pids, never from timing. Returns the killed pids.
func killWorkers(atJournalLines lines: [Int], marker: String, daemon: DaemonProcess, seconds: Double = 120,
                 sourceLocation: SourceLocation = #_sourceLocation) -> [Int32] {
    var killed: [Int32] = []
    for (kill, count) in lines.enumerated() {
        var worker: Int32?
        let reached = waitUntil(seconds: seconds, poll: 0.05) {
            let journal = ((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "").split(separator: "\n")
            guard journal.count >= count + 1, leaseAttempt(journal.first) == kill + 1 else { return false }
            worker = childProcesses(of: daemon.pid).first { !killed.contains($0) }
            return worker != nil
        }
        guard reached, let worker else {
            Issue.record("attempt \(kill + 1) never journaled \(count) checkpoints with a live worker: \(daemon.log.suffix(2000))",
                         sourceLocation: sourceLocation)
            break
        }
        Glibc.kill(worker, SIGKILL)
        killed.append(worker)
    }
    return killed
}

/// The attempt number in a `.processing` marker's lease line, or nil while it is unreadable.
private func leaseAttempt(_ line: Substring?) -> Int? {
    guard let line, let lease = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
    return lease["attempt"] as? Int
}
