import Foundation
import Glibc
import HotFolder
import Testing
import Transcripts

/// Every upload of `HostileCatalog` in ONE daemon run on the real binary with the real
/// model, one real clip per legitimate job, plus symlinks planted once it watches (so
/// inotify sees them before any rescan). Decided from the folder: markers, outputs, the
/// sentinel folder outside, and what the log names; never from timing.
@Suite(.serialized, .hangGuard, .enabled(if: Assets.available, "run `make test` to fetch the model and build the corpus"))
struct HostileRunTests {
    /// The path of a job's marker: its name, or the hashed stem of a name too long for it.
    static func marker(_ box: HostileBox, _ job: [UInt8], _ state: JobState) -> [UInt8] {
        let parts = job.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let name = Array(parts.last ?? [])
        let text = String(decoding: name, as: UTF8.self)
        let stem = text.utf8.elementsEqual(name) ? Array(Job.markerStem(forName: text).utf8) : name
        let folder = parts.dropLast().map { Array($0) + [UInt8(ascii: "/")] }.joined()
        return box.path(Array(folder) + stem + Array(state.suffix.utf8))
    }

    /// Where the txt transcript of a job goes under `output_dir`.
    static func transcript(_ box: HostileBox, _ job: [UInt8]) -> [UInt8] {
        let parts = job.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let folder = parts.dropLast().map { Array($0) + [UInt8(ascii: "/")] }.joined()
        return Array(box.output.utf8) + [UInt8(ascii: "/")] + Array(folder) + outputFileName(forSource: Array(parts.last ?? []), format: .txt)
    }

    static func readBytes(_ path: [UInt8]) -> Data? {
        let fd = (path + [0]).withUnsafeBufferPointer { p in p.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_RDONLY | O_NONBLOCK) } }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            data.append(contentsOf: buffer.prefix(n))
        }
        return data
    }

    static func inode(_ path: [UInt8]) -> UInt64? {
        var st = stat()
        let r = (path + [0]).withUnsafeBufferPointer { p in p.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &st) } }
        return r == 0 ? UInt64(st.st_ino) : nil
    }

    @Test func everyHostileUploadInOneRun() throws {
        // Greedy decoding and txt only: the run is about the folder, not the transcripts' quality.
        let config = RealModel.config("workers = 2\noutput_dir = \"out\"\nformats = [\"txt\"]\n" + DaemonCounters.config,
                                      model: "beam_size = 1\nbest_of = 1\ntemperatures = [0.0]")
        let box = try HostileBox(config: config.replacingOccurrences(of: #"formats = ["txt", "srt", "vtt", "tsv", "json"]"#, with: ""))
        let uploads = HostileCatalog.uploads
        for upload in uploads { try upload.plant(box) }
        let before = box.sentinelSnapshot()
        let daemon = try box.ws.startRealDaemon()
        // Once it watches: symlinks out of the inbox that inotify reports before any rescan,
        // then an ordinary job whose end shows those events were handled.
        #expect(symlink(box.secret, box.inbox + "/late.wav") == 0)
        #expect(symlink(box.sentinel, box.inbox + "/late-folder") == 0)
        box.clipAt("late-ok.wav")

        var finals: [[UInt8]] = [Self.marker(box, Array("late-ok.wav".utf8), .done)]
        for upload in uploads {
            switch upload.outcome {
            case .done: finals.append(Self.marker(box, upload.job, .done))
            case .failed: finals.append(Self.marker(box, upload.job, .failed))
            case .ignored, .skipped: break
            }
        }
        let ended = waitUntil(seconds: 300, poll: 0.5) { finals.allSatisfy(box.exists) }
        #expect(ended, "not ended: \(finals.filter { !box.exists($0) }.map { String(decoding: $0, as: UTF8.self) })\n\(daemon.log.suffix(4000))")
        #expect(daemon.process.isRunning, "the daemon must survive: \(daemon.log.suffix(3000))")
        // A second transcription would rename a new transcript into place: a new inode.
        var inodeWhenEnded: [[UInt8]: UInt64] = [:]
        for upload in uploads where upload.outcome == .done { inodeWhenEnded[upload.job] = Self.inode(Self.transcript(box, upload.job)) }
        // Two more looks at the whole folder: nothing done is taken again, nothing ignored is marked.
        box.ws.awaitTwoRescans(by: daemon)

        let (code, status, err) = try Binary.run(["status", box.inbox, "--json"], timeout: 30)
        #expect(code == 0 && status.contains("bad-marker") && status.contains("d.wav.pending is a directory"), "\(status)\(err)")
        let (textCode, text, _) = try Binary.run(["status", box.inbox], timeout: 30)
        #expect(textCode == 0 && text.contains("y.wav.done is a fifo"), "\(text)")
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("forged") }, "\(text)")
        #expect(daemon.terminate() == 0)
        let log = daemon.log

        for upload in uploads {
            let name = String(decoding: upload.job, as: UTF8.self)
            let what = "\(upload.attack) (\(name))"
            let output = Self.transcript(box, upload.job)
            switch upload.outcome {
            case .done:
                #expect(box.exists(Self.marker(box, upload.job, .done)), "\(what): no .done")
                for state in [JobState.pending, .processing, .failed] {
                    #expect(!box.exists(Self.marker(box, upload.job, state)), "\(what): \(state) left")
                }
                let txt = String(decoding: Self.readBytes(output) ?? Data(), as: UTF8.self)
                #expect(txt.count > 20, "\(what): no transcript at \(String(decoding: output, as: UTF8.self))")
                #expect(Self.inode(output) == inodeWhenEnded[upload.job], "\(what): transcribed again after it was done")
            case .failed(let kind):
                let marker = Self.readBytes(Self.marker(box, upload.job, .failed)) ?? Data()
                let failed = try? JSONDecoder().decode(FailedMarker.self, from: marker)
                #expect(failed?.kind == kind, "\(what): \(String(decoding: marker, as: UTF8.self))")
                #expect(!box.exists(output), "\(what): published")
            case .ignored:
                for state in JobState.allCases { #expect(!box.exists(Self.marker(box, upload.job, state)), "\(what): marked \(state)") }
                #expect(!box.exists(output), "\(what): published")
            case .skipped:
                #expect(!box.exists(output), "\(what): published")
            }
            if let logNames = upload.logNames { #expect(log.contains(logNames), "\(what): the log does not name it") }
        }
        for late in ["late.wav", "late-folder/secret.wav"] {
            for state in JobState.allCases { #expect(!box.exists(Self.marker(box, Array(late.utf8), state)), "\(late) was marked \(state)") }
        }
        #expect(log.contains("inbox/late.wav") && log.contains("inbox/late-folder"), "the symlinks inotify saw are not named in the log")
        #expect(box.sentinelSnapshot() == before, "nothing outside inbox and output_dir may change")
        #expect(!log.split(separator: "\n").contains { $0.hasPrefix("forged line") }, "a name's newline forged a log line")
        #expect(!box.ws.names().contains { $0.contains(".dropscribe-") }, "temp files left")
        #expect(!box.ws.names(box.output).contains { $0.contains(".dropscribe-") }, "temp files left in output_dir")
    }
}
