import Foundation
import Glibc
import Testing

/// Issue 8 on the real model (tiny.en): every bad corpus file through the daemon,
/// and kill -9 chaos of daemons and workers against an uninterrupted run.
@Suite(.serialized, .timeLimit(.minutes(60)), .enabled(if: Assets.available, "run `make test` to fetch the model and build the corpus"))
struct RealFaultTests {
    enum Outcome {
        /// `.failed` with this kind, the message naming the file.
        case failed(String)
        /// `.done` with a transcript of at most this many words.
        case doneAtMostWords(Int)
        /// `.done` with a transcript containing these words.
        case doneContaining([String])
    }

    /// What each file of .corpus/bad/ must give (see its README.txt / EXPECTED.tsv).
    static let expected: [String: Outcome] = [
        "empty.mp3": .failed("empty-file"),
        "empty.m4a": .failed("empty-file"),
        "text.mp3": .failed("not-media"),
        "random.wav": .failed("not-media"),
        "header-only.wav": .failed("corrupt"),          // a header promising samples that are not there
        "video-no-audio.mp4": .failed("no-audio-stream"),
        "tiny-0.1s.wav": .doneAtMostWords(0),
        "silence-60s.wav": .doneAtMostWords(2),
        "noise-30s.wav": .doneAtMostWords(3),
        "truncated.mp3": .doneContaining(["milk", "bread"]),
        "corrupt-middle.mp3": .doneContaining(["milk", "1999"]),
        "wav-named-as.mp3": .doneContaining(["cycling", "half price"]),
        "name with spaces.wav": .doneContaining(["cycling", "half price"]),
        "unicode-ümläut-日本語-✓.wav": .doneContaining(["cycling", "half price"]),
        "-leading-dash.wav": .doneContaining(["cycling", "half price"]),
        "new\nline.wav": .doneContaining(["cycling", "half price"]),
        "- all of it é€\nsecond line.wav": .doneContaining(["cycling", "half price"]),
    ]

    /// Cheap in `make test`: the failures and the short files; the long, the speech
    /// and the awkwardly named ones (names are covered by FaultTests) only in `make chaos`.
    static let shortForm: Set<String> = ["empty.mp3", "empty.m4a", "text.mp3", "random.wav", "header-only.wav",
                                         "video-no-audio.mp4", "tiny-0.1s.wav", "truncated.mp3", "corrupt-middle.mp3"]

    @Test func everyBadCorpusFileEndsFailedWithTheRightKindOrDoneAndAGoodJobBesideItIsUntouched() throws {
        let bad = Assets.corpus + "/bad/"
        let present = Set((try FileManager.default.contentsOfDirectory(atPath: bad)).filter { !$0.hasSuffix(".txt") && !$0.hasSuffix(".tsv") })
        #expect(present == Set(Self.expected.keys), "every file of bad/ has an expected outcome: \(present.symmetricDifference(Self.expected.keys))")
        let files = Chaos.full ? Array(present) : present.filter { Self.shortForm.contains($0) }
        let ws = Workspace(config: RealModel.config("workers = 2").replacingOccurrences(of: "max_attempts = 6", with: "max_attempts = 2"))
        for f in files { try FileManager.default.copyItem(atPath: bad + f, toPath: ws.inbox + "/" + f) }
        try FileManager.default.copyItem(atPath: Assets.corpus + "/formats/sample.mp3", toPath: ws.inbox + "/good.mp3")
        let started = Date()
        let daemon = try ws.startRealDaemon()
        let finals = files + ["good.mp3"]
        let finished = waitUntil(seconds: 600, poll: 0.5) {
            finals.allSatisfy { FileManager.default.fileExists(atPath: ws.inbox + "/\($0).done") || FileManager.default.fileExists(atPath: ws.inbox + "/\($0).failed") }
        }
        #expect(finished, "\(ws.names())\n\(daemon.log.suffix(4000))")
        #expect(daemon.process.isRunning, "the daemon never crashes")
        #expect(daemon.terminate() == 0)
        var summary: [String] = []
        for f in files.sorted() {
            let failed = (try? String(contentsOfFile: ws.inbox + "/\(f).failed", encoding: .utf8))
            let text = (try? String(contentsOfFile: ws.inbox + "/\(f).txt", encoding: .utf8))
            switch Self.expected[f]! {
            case .failed(let kind):
                #expect(failed?.contains("\"kind\":\"\(kind)\"") == true, "\(f.debugDescription): \(failed ?? "no .failed; transcript: \(text ?? "-")")")
                let message = (try? JSONSerialization.jsonObject(with: Data((failed ?? "{}").utf8)) as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains(f), "the message names the file: \(message)")
                summary.append("\(f): failed \(kind): \(message)")
            case .doneAtMostWords(let n):
                #expect(text != nil, "\(f.debugDescription): \(failed ?? "no transcript")")
                let words = (text ?? "").split(whereSeparator: \.isWhitespace).count
                #expect(words <= n, "\(f.debugDescription): \(text ?? "")")
                summary.append("\(f): done, \(words) words")
            case .doneContaining(let words):
                #expect(text != nil, "\(f.debugDescription): \(failed ?? "no transcript")")
                for w in words { #expect((text ?? "").lowercased().contains(w), "\(f.debugDescription): \(text ?? "")") }
                summary.append("\(f): done: \((text ?? "").prefix(60).replacingOccurrences(of: "\n", with: " "))…")
            }
        }
        expectOnlyDone(ws, jobs: ["good.mp3"])
        let good = (try? String(contentsOfFile: ws.inbox + "/good.mp3.txt", encoding: .utf8)) ?? ""
        #expect(good.lowercased().contains("rural schools"), "the good job beside them: \(good)")
        print("bad corpus (\(files.count) files + 1 good, \(String(format: "%.0f", Date().timeIntervalSince(started))) s):\n  " + summary.joined(separator: "\n  "))
    }

    /// kill -9 of daemons and workers at random moments (model load, decode, encode,
    /// output writing) over a queue of corpus files: every job .done exactly once,
    /// outputs byte-identical to `dropscribe transcribe`, no temp files left.
    @Test(.enabled(if: Chaos.full, "make chaos"))
    func killNineOfDaemonsAndWorkersAtRandomLeavesOutputsByteIdenticalToAnUninterruptedRun() throws {
        let ws = Workspace(config: RealModel.config("workers = 2").replacingOccurrences(of: "max_attempts = 6", with: "max_attempts = 100"))
        // Several multi-window files and single clips.
        let clips = (1...9).map { String(format: "%@/clips/clip-%02d.wav", Assets.corpus, $0) }
        var sources: [String] = []
        for n in 0..<3 {
            let out = ws.root + "/multi-\(n).wav"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/sox")
            p.arguments = Array(clips.dropFirst(n)) + Array(clips.prefix(n)) + [out]
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            sources.append(out)
        }
        for c in clips.prefix(6) {
            let out = ws.root + "/" + (c as NSString).lastPathComponent
            try FileManager.default.copyItem(atPath: c, toPath: out)
            sources.append(out)
        }
        try FileManager.default.copyItem(atPath: Assets.corpus + "/formats/sample.mp3", toPath: ws.root + "/sample.mp3")
        sources.append(ws.root + "/sample.mp3")
        let refDir = ws.root + "/reference"
        let (status, _, err) = try Binary.run(["transcribe"] + sources + ["--config", ws.configFile, "--output-dir", refDir, "--format", "txt,srt,vtt,tsv,json"])
        #expect(status == 0, "\(err)")
        let names = sources.map { ($0 as NSString).lastPathComponent }
        for s in sources { try FileManager.default.copyItem(atPath: s, toPath: ws.inbox + "/" + (s as NSString).lastPathComponent) }

        var daemon = try ws.startRealDaemon(tag: "chaos-0")
        var rng = SystemRandomNumberGenerator()
        var daemonKills = 0, workerKills = 0
        let started = Date()
        while daemonKills + workerKills < 24, ws.count(suffix: ".done") < names.count, Date().timeIntervalSince(started) < 1200 {
            usleep(UInt32.random(in: 700_000...3_500_000, using: &rng))
            if Bool.random(using: &rng) {
                daemon.kill9()
                daemonKills += 1
                daemon = try ws.startRealDaemon(tag: "chaos-\(daemonKills)")
            } else if let worker = childProcesses(of: daemon.pid).randomElement(using: &rng) {
                kill(worker, SIGKILL)
                workerKills += 1
            }
        }
        let finished = waitUntil(seconds: 900, poll: 0.5) { ws.count(suffix: ".done") == names.count }
        #expect(finished, "\(ws.names())\n\(daemon.log.suffix(3000))")
        awaitTempsSwept(ws)
        #expect(daemon.terminate() == 0)
        #expect(daemonKills + workerKills >= 20, "at least 20 kills: \(daemonKills) daemons, \(workerKills) workers")
        expectOnlyDone(ws, jobs: names)
        var identical = 0
        for n in names {
            for ext in ["txt", "srt", "vtt", "tsv", "json"] {
                let a = FileManager.default.contents(atPath: refDir + "/\(n).\(ext)")
                let b = FileManager.default.contents(atPath: ws.inbox + "/\(n).\(ext)")
                #expect(a != nil && a == b, "\(n).\(ext) differs from the uninterrupted run")
                if a != nil && a == b { identical += 1 }
            }
        }
        print("real-model chaos: \(names.count) jobs, \(daemonKills) daemon kill -9 + \(workerKills) worker kill -9 in "
              + "\(String(format: "%.0f", Date().timeIntervalSince(started))) s; \(identical)/\(names.count * 5) outputs byte-identical; lost 0")
    }
}
