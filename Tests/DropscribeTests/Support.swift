import Foundation
import Glibc
import HotFolder
import SystemPackage
import Testing

/// The built `dropscribe` binary, next to the test bundle.
enum Binary {
    static var productsDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }

    static var dropscribe: String { productsDirectory + "/dropscribe" }

    /// The repository root (for config.example.toml, models and the corpus).
    static var repositoryRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// Runs dropscribe to completion; returns (status, stdout, stderr).
    @discardableResult
    static func run(_ args: [String], environment: [String: String] = [:], cwd: String? = nil, timeout: Double? = nil) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: dropscribe)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        if let timeout {
            // A command that should have stopped at once but did not (a daemon that started).
            let pid = p.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if p.isRunning { kill(pid, SIGKILL) } }
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// A temp folder with an inbox and a config, and daemons started on it.
final class Workspace {
    let root: String
    var inbox: String { root + "/inbox" }
    var seenLog: String { root + "/seen.log" }
    var configFile: String { root + "/config.toml" }

    init(config: String = "") {
        var template = Array("/tmp/dropscribe-it-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        root = String(cString: p!)
        try? FileManager.default.createDirectory(atPath: root + "/inbox", withIntermediateDirectories: true)
        writeConfig(config)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Writes a config (inbox = "inbox" plus `extra`) to `file` (default: the workspace's own).
    @discardableResult
    func writeConfig(_ extra: String, to file: String? = nil) -> String {
        let text = """
            inbox = "inbox"
            log_level = "info"
            \(extra)
            """
        let path = file.map { $0.hasPrefix("/") ? $0 : root + "/" + $0 } ?? configFile
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @discardableResult
    func drop(_ name: String, _ contents: String) -> String {
        let path = inbox + "/" + name
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data(contents.utf8))
        return path
    }

    func names(_ dir: String? = nil) -> [String] {
        let d = dir ?? inbox
        guard let e = FileManager.default.enumerator(atPath: d) else { return [] }
        return (e.allObjects as? [String] ?? []).sorted()
    }

    func count(suffix: String) -> Int { names().filter { $0.hasSuffix(suffix) }.count }

    /// Lines of the test transcriber's log: one per finished transcription.
    func seen() -> [String: Int] {
        let text = (try? String(contentsOfFile: seenLog, encoding: .utf8)) ?? ""
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            counts[String(line.split(separator: "\t")[0]), default: 0] += 1
        }
        return counts
    }

    func startDaemon(_ extraArgs: [String] = [], windowMilliseconds: Int = 30, windows: Int = 4, tag: String = "d",
                     config: String? = nil, environment: [String: String] = [:]) throws -> DaemonProcess {
        try DaemonProcess(workspace: self, args: ["watch", "--config", config ?? configFile, "--test-transcriber"] + extraArgs,
                          environment: ["DROPSCRIBE_TEST_LOG": seenLog, "DROPSCRIBE_TEST_WINDOW_MS": "\(windowMilliseconds)",
                                        "DROPSCRIBE_TEST_WINDOWS": "\(windows)"].merging(environment) { $1 },
                          logFile: root + "/\(tag).log")
    }
}

/// A running `dropscribe watch`, logging to a file.
final class DaemonProcess {
    let process = Process()
    let logFile: String

    init(workspace: Workspace, args: [String], environment: [String: String], logFile: String) throws {
        self.logFile = logFile
        process.executableURL = URL(fileURLWithPath: Binary.dropscribe)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = URL(fileURLWithPath: workspace.root)
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // A signal that arrives before the service group has installed its handlers
        // kills the process outright (exit by signal 15); tests signal only a daemon
        // that is up and watching.
        let started = Date()
        while process.isRunning, !log.contains("watching"), Date().timeIntervalSince(started) < 120 { usleep(20_000) }
    }

    var pid: Int32 { process.processIdentifier }

    func kill9() {
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then the exit status.
    func terminate() -> Int32 {
        kill(pid, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() }
    }
}

/// Polls until `condition` holds or the deadline passes; returns whether it held.
@discardableResult
func waitUntil(seconds: Double, poll: Double = 0.1, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(UInt32(poll * 1_000_000))
    }
    return condition()
}

/// Where the real model and the generated corpus are (`make test` prepares both).
enum Assets {
    static var models: String {
        ProcessInfo.processInfo.environment["DROPSCRIBE_MODELS"] ?? Binary.repositoryRoot + "/models"
    }
    static var corpus: String {
        ProcessInfo.processInfo.environment["DROPSCRIBE_CORPUS"] ?? Binary.repositoryRoot + "/.corpus"
    }
    static var tinyEn: String { models + "/tiny.en" }
    static var available: Bool {
        FileManager.default.fileExists(atPath: tinyEn + "/model.bin") && FileManager.default.fileExists(atPath: corpus + "/clips/clip-01.wav")
    }
}

/// Daemon configurations shared by the test suites.
enum TestConfig {
    /// Short timings so the tests run in seconds; `top` goes before the tables, `queue` into [queue].
    static func fast(top: String = "", queue: String = "") -> String {
        """
        \(top)
        [watch]
        settle_seconds = 1
        rescan_seconds = 2
        [queue]
        heartbeat_seconds = 1
        lease_timeout_seconds = 10
        retry_backoff_seconds = 0
        \(queue)
        """
    }
}

/// The real model (tiny.en) with every output format and short timings.
enum RealModel {
    /// `extra` goes at the top level, `model` into the [model] section.
    static func config(_ extra: String = "", model: String = "") -> String {
        TestConfig.fast(top: """
            formats = ["txt", "srt", "vtt", "tsv", "json"]
            \(extra)
            [model]
            path = "\(Assets.tinyEn)"
            \(model)
            """, queue: "max_attempts = 6")
    }
}

extension Workspace {
    /// The daemon with the real model (the workspace's config must name it: `RealModel.config`).
    func startRealDaemon(tag: String = "real", environment: [String: String] = [:]) throws -> DaemonProcess {
        try DaemonProcess(workspace: self, args: ["watch", "--config", configFile], environment: environment, logFile: root + "/\(tag).log")
    }
}

/// Every job ended `.done` with a transcript and no other marker; no temp file is left.
func expectOnlyDone(_ ws: Workspace, jobs: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    let names = ws.names()
    for job in jobs {
        #expect(names.contains(job + ".done"), "\(job) has no .done", sourceLocation: sourceLocation)
        for s in [".pending", ".processing", ".failed"] { #expect(!names.contains(job + s), "\(job)\(s) left", sourceLocation: sourceLocation) }
        #expect(names.contains(job + ".txt"), "\(job) has no transcript", sourceLocation: sourceLocation)
    }
    #expect(!names.contains { ($0 as NSString).lastPathComponent.hasPrefix(".dropscribe-") },
            "temp files left: \(names.filter { $0.contains(".dropscribe-") })", sourceLocation: sourceLocation)
}

/// Waits, with the daemons still running, until no dropscribe temp file is left in the
/// inbox. A process killed while writing leaves one, and a rescan removes it once its
/// creator is gone (`AtomicFile.isStaleTemp`): after kills, "no temp files" holds from the
/// next rescan on, which may come after the last job is done.
func awaitTempsSwept(_ ws: Workspace, sourceLocation: SourceLocation = #_sourceLocation) {
    let temps = { ws.names().filter { ($0 as NSString).lastPathComponent.hasPrefix(".dropscribe-") } }
    #expect(waitUntil(seconds: 120, poll: 0.25) { temps().isEmpty }, "temp files no rescan removed: \(temps())",
            sourceLocation: sourceLocation)
}

/// Children of a process, from /proc/*/stat (field 4 is the parent pid).
func childProcesses(of pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { child in
        guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == pid
    }
}

/// The daemon's worker that runs `job` now: the child holding the job's `.processing` marker open
/// (a serving worker's command line names no job).
func workerRunning(_ job: String, in ws: Workspace, daemon: Int32) -> Int32? {
    let marker = ws.inbox + "/" + job + ".processing"
    return childProcesses(of: daemon).first { child in
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(child)/fd")) ?? []
        return fds.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child)/fd/\($0)")) == marker }
    }
}

/// Resident set size of a process now and at its peak (VmRSS, VmHWM), in bytes.
func residentMemory(of pid: Int32) -> (now: Int64, peak: Int64) {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Int64 {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
        return (line.split(separator: " ").dropFirst().first.flatMap { Int64($0) } ?? 0) * 1024
    }
    return (field("VmRSS"), field("VmHWM"))
}

/// Counts switched by `make chaos` (DROPSCRIBE_CHAOS=1): the full form, else the short one in `make test`.
enum Chaos {
    static var full: Bool { ProcessInfo.processInfo.environment["DROPSCRIBE_CHAOS"] == "1" }
    static func count(short: Int, full: Int) -> Int { Self.full ? full : short }
}

extension Trait where Self == TimeLimitTrait {
    /// A guard against a hung daemon, not a speed check. Swift Testing starts a
    /// test's clock when the test is scheduled, and on a 2-core machine a test can
    /// wait many minutes for a thread behind the in-process model suites that block
    /// theirs (CI once failed ObservabilityTests' 3-minute limit this way, every
    /// expectation met). So the limit is longer than the whole test phase (about
    /// 15 minutes here); each test's own waits bound its real running time.
    static var hangGuard: Self { .timeLimit(.minutes(30)) }
}
