import Foundation
import Glibc
import HotFolder
import Testing
import Transcripts

/// What an attack must end as, judged from the folder after the run.
enum HostileOutcome: Equatable {
    /// Transcribed exactly once, from its own audio, with no other marker left.
    case done
    /// Ended `.failed` with this kind.
    case failed(FailureKind)
    /// Never taken as a job: no marker of its own, nothing transcribed.
    case ignored
    /// A planted marker stays as it is; the job is not transcribed.
    case skipped
}

/// One hostile upload: what is planted, which job it is about, how it must end, and a
/// text the daemon's log must hold (the file's name, as escaped for the log).
struct HostileUpload {
    var attack: String
    /// The job's name relative to the inbox, as bytes (some are not UTF-8).
    var job: [UInt8]
    var outcome: HostileOutcome
    var logNames: String?
    var plant: (HostileBox) throws -> Void

    init(_ attack: String, job: String, _ outcome: HostileOutcome, log: String? = nil, plant: @escaping (HostileBox) throws -> Void) {
        self.init(attack, bytes: Array(job.utf8), outcome, log: log, plant: plant)
    }

    init(_ attack: String, bytes: [UInt8], _ outcome: HostileOutcome, log: String? = nil, plant: @escaping (HostileBox) throws -> Void) {
        self.attack = attack
        self.job = bytes
        self.outcome = outcome
        self.logNames = log
        self.plant = plant
    }
}

/// The workspace of a hostile run: an inbox, an output folder, and a sentinel folder
/// outside both that every escape would touch.
final class HostileBox {
    let ws: Workspace
    var inbox: String { ws.inbox }
    var output: String { ws.root + "/out" }
    var sentinel: String { ws.root + "/sentinel" }
    var secret: String { sentinel + "/secret.wav" }
    let clip: Data

    init(config: String) throws {
        ws = Workspace(config: config)
        clip = try Data(contentsOf: URL(fileURLWithPath: Assets.corpus + "/clips/clip-01.wav"))
        for dir in [output, sentinel + "/folder"] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try clip.write(to: URL(fileURLWithPath: secret))
        #expect(mkfifo(sentinel + "/fifo", 0o644) == 0)
    }

    func path(_ bytes: [UInt8]) -> [UInt8] { Array(inbox.utf8) + [UInt8(ascii: "/")] + bytes }

    /// A real clip at a name given as bytes (a `String` cannot hold every file name).
    func clipAt(_ name: [UInt8]) {
        let fd = (path(name) + [0]).withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL, 0o644) }
        }
        #expect(fd >= 0, "cannot create \(name)")
        _ = clip.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func clipAt(_ name: String) { clipAt(Array(name.utf8)) }

    func write(_ name: String, _ text: String) {
        #expect(FileManager.default.createFile(atPath: inbox + "/" + name, contents: Data(text.utf8)))
    }

    func exists(_ bytes: [UInt8]) -> Bool {
        var st = stat()
        return (bytes + [0]).withUnsafeBufferPointer { p in p.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &st) } } == 0
    }

    /// A listening-socket file left behind (bound, then closed).
    func socketAt(_ path: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0, "cannot bind \(path)")
        close(fd)
    }

    /// Every file below the sentinel with its type, size, mtime and inode: an escape changes it.
    func sentinelSnapshot() -> [String] {
        ws.names(sentinel).map { name in
            var st = stat()
            lstat(sentinel + "/" + name, &st)
            return "\(name) mode \(st.st_mode) size \(st.st_size) mtime \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) ino \(st.st_ino) links \(st.st_nlink)"
        }
    }

    /// A lease line as a daemon writes it.
    static func lease(host: String, pid: Int32, pidStart: UInt64?, bootID: String, started: String = "1800000000") -> String {
        let start = pidStart.map { ",\"pid_start\":\($0)" } ?? ""
        return #"{"attempt":1,"boot_id":"\#(bootID)","fingerprint":{"device":1,"inode":1,"mtime_ns":1,"size":1},"host":"\#(host)","pid":\#(pid)\#(start),"started":\#(started)}"#
    }

    static var hostname: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static var bootID: String {
        ((try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// A WAV header declaring `seconds` of 8 kHz 8-bit mono audio, in a sparse file of that size.
    func sparseWAV(_ name: String, seconds: Int) {
        let dataBytes = UInt32(seconds * 8000)
        var header = Data("RIFF".utf8)
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        le32(36 + dataBytes)
        header += Data("WAVEfmt ".utf8)
        le32(16); le16(1); le16(1); le32(8000); le32(8000); le16(1); le16(8)
        header += Data("data".utf8)
        le32(dataBytes)
        #expect(FileManager.default.createFile(atPath: inbox + "/" + name, contents: header))
        #expect(truncate(inbox + "/" + name, off_t(44) + off_t(dataBytes)) == 0)
    }
}
