import Foundation
import Glibc
import HotFolder
import Transcripts

/// The uploads of the real-model hostile run, planted before the daemon starts (see
/// docs/hostile-inbox.md for the table of attacks and outcomes).
enum HostileCatalog {
    static let long255 = String(repeating: "l", count: 251) + ".wav"
    /// What the long name's markers are named after (`PREFIX~HASH`), as an upload's name.
    static let stemTwin = Job.markerStem(forName: long255)
    /// The long name's transcript name without its `.txt`, as an upload's name.
    static let outputTwin = String(outputFileName(forSource: long255, format: .txt).dropLast(4))
    static let nested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)

    static var uploads: [HostileUpload] {
        let host = HostileBox.hostname, boot = HostileBox.bootID
        return [
            // Ordinary jobs, and odd but legitimate names.
            HostileUpload("ordinary job", job: "ok-1.wav", .done) { $0.clipAt("ok-1.wav") },
            HostileUpload("ordinary job in a subfolder", job: "sub/ok-2.wav", .done) { box in
                try FileManager.default.createDirectory(atPath: box.inbox + "/sub", withIntermediateDirectories: true)
                box.clipAt("sub/ok-2.wav")
            },
            HostileUpload("name with a newline", job: "evil\nforged line.wav", .done) { $0.clipAt("evil\nforged line.wav") },
            HostileUpload("name that is not UTF-8", bytes: Array("bad-".utf8) + [0xff, 0xfe] + Array(".wav".utf8), .ignored,
                          log: "is not valid UTF-8") { box in
                box.clipAt(Array("bad-".utf8) + [0xff, 0xfe] + Array(".wav".utf8))
            },
            HostileUpload("name with a leading dash", job: "-rf --help.wav", .done) { $0.clipAt("-rf --help.wav") },
            HostileUpload("name of 255 bytes", job: long255, .done) { $0.clipAt(long255) },
            HostileUpload("named like the markers' stem of another file's long name", job: stemTwin, .done) { $0.clipAt(stemTwin) },
            HostileUpload("named like the cut transcript name of another file's long name", job: outputTwin, .done) { $0.clipAt(outputTwin) },
            HostileUpload("file dated past the year 2262", job: "future.wav", .done) { box in
                box.clipAt("future.wav")
                var times = [timespec(tv_sec: 13_569_465_600, tv_nsec: 0), timespec(tv_sec: 13_569_465_600, tv_nsec: 0)]
                _ = utimensat(AT_FDCWD, box.inbox + "/future.wav", &times, 0)
            },
            HostileUpload("hard link to a file outside the inbox", job: "hardlink.wav", .done) { box in
                _ = link(box.secret, box.inbox + "/hardlink.wav")
            },
            // Markers with hostile contents: unreadable, so the job is marked again and done once.
            HostileUpload("attempts = Int64.max in a pending marker", job: "attempts.wav", .done) { box in
                box.clipAt("attempts.wav")
                box.write("attempts.wav.pending", #"{"attempts":9223372036854775807,"first_seen":1,"mtime_ns":1,"size":1}"#)
            },
            HostileUpload("truncated pending marker", job: "truncated.wav", .done) { box in
                box.clipAt("truncated.wav")
                box.write("truncated.wav.pending", #"{"size":12,"mtime"#)
            },
            HostileUpload("wrongly typed pending marker", job: "typed.wav", .done) { box in
                box.clipAt("typed.wav")
                box.write("typed.wav.pending", #"{"attempts":"three","first_seen":[],"mtime_ns":{},"size":"big"}"#)
            },
            HostileUpload("deeply nested pending marker (100,000 levels)", job: "nested.wav", .done) { box in
                box.clipAt("nested.wav")
                box.write("nested.wav.pending", nested)
            },
            HostileUpload("huge pending marker (1 GB sparse)", job: "huge.wav", .skipped, log: "huge.wav.pending") { box in
                box.clipAt("huge.wav")
                box.write("huge.wav.pending", "{")
                _ = truncate(box.inbox + "/huge.wav.pending", 1 << 30)
            },
            // Leases that must not hold a job forever.
            HostileUpload("lease stamped in the year 2100 by another host", job: "future-lease.wav", .done) { box in
                box.clipAt("future-lease.wav")
                box.write("future-lease.wav.processing", HostileBox.lease(host: "elsewhere.invalid", pid: 7, pidStart: 1, bootID: "b") + "\n")
                var times = [timespec(tv_sec: 4_102_444_800, tv_nsec: 0), timespec(tv_sec: 4_102_444_800, tv_nsec: 0)]
                _ = utimensat(AT_FDCWD, box.inbox + "/future-lease.wav.processing", &times, 0)
            },
            HostileUpload("lease naming this host's pid 1 (alive, not a dropscribe)", job: "pid1-lease.wav", .done) { box in
                box.clipAt("pid1-lease.wav")
                box.write("pid1-lease.wav.processing", HostileBox.lease(host: host, pid: 1, pidStart: HostileBox.startTime(of: 1), bootID: boot) + "\n")
            },
            HostileUpload("lease started at -1e300", job: "absurd-lease.wav", .done) { box in
                box.clipAt("absurd-lease.wav")
                box.write("absurd-lease.wav.processing", HostileBox.lease(host: "elsewhere.invalid", pid: 1, pidStart: nil, bootID: "b", started: "-1e300") + "\n")
                var times = [timespec(tv_sec: 1, tv_nsec: 0), timespec(tv_sec: 1, tv_nsec: 0)]
                _ = utimensat(AT_FDCWD, box.inbox + "/absurd-lease.wav.processing", &times, 0)
            },
            // Markers and jobs that are not regular files.
            HostileUpload("FIFO as a processing marker with no source", job: "x.wav", .skipped, log: "x.wav.processing") { box in
                _ = mkfifo(box.inbox + "/x.wav.processing", 0o644)
            },
            HostileUpload("FIFO as the done marker of a real file", job: "y.wav", .skipped, log: "y.wav.done") { box in
                box.clipAt("y.wav")
                _ = mkfifo(box.inbox + "/y.wav.done", 0o644)
            },
            HostileUpload("socket as the pending marker of a real file", job: "q.wav", .skipped, log: "q.wav.pending") { box in
                box.clipAt("q.wav")
                box.socketAt(box.inbox + "/q.wav.pending")
            },
            HostileUpload("directory as the pending marker of a real file", job: "d.wav", .skipped, log: "d.wav.pending") { box in
                box.clipAt("d.wav")
                try FileManager.default.createDirectory(atPath: box.inbox + "/d.wav.pending", withIntermediateDirectories: false)
            },
            HostileUpload("symlink as the done marker of a real file", job: "m.wav", .skipped, log: "m.wav.done") { box in
                box.clipAt("m.wav")
                _ = symlink(box.sentinel + "/folder", box.inbox + "/m.wav.done")
            },
            HostileUpload("FIFO as a job", job: "fifo.wav", .ignored, log: "fifo.wav") { box in _ = mkfifo(box.inbox + "/fifo.wav", 0o644) },
            HostileUpload("socket as a job", job: "sock.wav", .ignored, log: "sock.wav") { box in box.socketAt(box.inbox + "/sock.wav") },
            HostileUpload("directory named like a job", job: "dir.wav", .ignored) { box in
                try FileManager.default.createDirectory(atPath: box.inbox + "/dir.wav", withIntermediateDirectories: false)
            },
            HostileUpload("symlink to a FIFO", job: "to-fifo.wav", .ignored, log: "to-fifo.wav") { box in _ = symlink(box.sentinel + "/fifo", box.inbox + "/to-fifo.wav") },
            HostileUpload("symlink to /dev/zero", job: "zero.wav", .ignored, log: "zero.wav") { box in _ = symlink("/dev/zero", box.inbox + "/zero.wav") },
            HostileUpload("symlink to a file outside", job: "outside.wav", .ignored, log: "outside.wav") { box in _ = symlink(box.secret, box.inbox + "/outside.wav") },
            HostileUpload("symlink to a folder outside", job: "linked-folder/secret.wav", .ignored, log: "inbox/linked-folder") { box in
                _ = symlink(box.sentinel, box.inbox + "/linked-folder")
            },
            // Inputs the decoder or the limits refuse.
            HostileUpload("sparse WAV declaring 40 hours of audio", job: "forty-hours.wav", .failed(.tooLong), log: "forty-hours.wav") { box in
                box.sparseWAV("forty-hours.wav", seconds: 40 * 3600)
            },
            HostileUpload("HLS playlist naming a file outside", job: "list.m3u8", .failed(.refusedFormat), log: "list.m3u8") { box in
                box.write("list.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n\(box.secret)\n#EXT-X-ENDLIST\n")
            },
            HostileUpload("output folder that is a symlink to outside", job: "evil/e.wav", .failed(.unsafePath), log: "evil/e.wav") { box in
                _ = symlink(box.sentinel + "/folder", box.output + "/evil")
                try FileManager.default.createDirectory(atPath: box.inbox + "/evil", withIntermediateDirectories: false)
                box.clipAt("evil/e.wav")
            },
        ]
    }
}
