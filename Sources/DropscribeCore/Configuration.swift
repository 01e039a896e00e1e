import Foundation
import HotFolder
import SystemPackage
import TOMLKit
import Transcripts
import Whisper

/// A configuration problem, naming the file, the key and the value.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var key: String
    public var value: String?
    public var problem: String

    public var description: String {
        var s = "\(file): \(key)"
        if let value { s += " = \(value)" }
        return s + ": " + problem
    }
}

/// Everything dropscribe can be told, with the defaults of config.example.toml.
///
/// Read from TOML (every key optional), then overridden by command-line flags.
/// Relative paths in a file are taken relative to that file's folder, so a
/// config means the same whatever the daemon's working directory.
public struct Configuration: Sendable, Equatable {
    public var inbox: String = "./inbox"
    public var outputDir: String = ""
    public var archiveDir: String = ""
    public var formats: [OutputFormat] = [.txt, .srt, .vtt, .json]
    public var workers: Int = 1
    public var threadsPerWorker: Int = 0
    /// "source" (copy the source file's mode) or an octal mode such as "0644".
    public var outputPermissions: String = "source"
    public var logLevel: String = "info"
    /// Prometheus textfile-collector output; empty: none.
    public var metricsFile: String = ""
    /// Heartbeat record for `dropscribe health` (liveness/readiness probes); empty: none.
    public var healthFile: String = ""
    /// Memory limit of each worker in MiB (its own memory cgroup, so the kernel's
    /// OOM killer takes the worker, never the daemon); 0: none.
    public var workerMemoryLimitMB: Int = 0
    /// Jobs a worker process serves before it is replaced (1: a fresh process per job).
    public var workerMaxJobs: Int = 200

    public var model = ModelSection()
    public var watch = WatchSection()
    public var queue = QueueSection()
    public var media = MediaSection()
    /// `vad_filter` and `[vad]` (ConfigVAD.swift).
    public var vad = VADSection()
    /// `[[rule]]`: settings by folder or name, first match wins (ConfigRules.swift).
    public var rules: [Rule] = []
    /// `delete_source` and the hooks (ConfigRules.swift).
    public var jobs = JobEndSettings()
    public var journal = JournalSection()
    public var limits = JobLimits()

    /// `[model]`: which model and how to decode.
    public struct ModelSection: Sendable, Equatable {
        /// A model folder, or a model name (see `ModelLocation`).
        public var path: String = "./models/tiny.en"
        /// A model name (`large-v3-turbo`, `small`, `owner/name`); when set it wins over `path`.
        public var name: String = ""
        /// Where `dropscribe models fetch` installs models and where names are looked up.
        public var modelsDir: String = "./models"
        public var beamSize: Int = 5
        public var bestOf: Int = 5
        public var patience: Double = 1.0
        public var lengthPenalty: Double = 1.0
        public var language: String = ""
        public var task: Tokenizer.Task = .transcribe
        public var wordTimestamps: Bool = false
        public var initialPrompt: String = ""
        public var hotwords: String = ""
        public var prependPunctuations: String = "\"'“¿([{-"
        public var appendPunctuations: String = "\"'.。,，!！?？:：”)]}、"
        public var temperatures: [Double] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        public var compressionRatioThreshold: Double = 2.4
        public var logProbThreshold: Double = -1.0
        public var noSpeechThreshold: Double = 0.6
        public var conditionOnPreviousText: Bool = true
        public var computeType: ComputeType = .float32
    }

    /// `[watch]`: how new files are noticed.
    public struct WatchSection: Sendable, Equatable {
        public var inotify: Bool = true
        public var recursive: Bool = true
        public var rescanSeconds: Double = 30
        public var settleSeconds: Double = 5
        /// How often each finished job's source and marker are verified again although no
        /// directory changed (a rewrite in place); spread over this period, not in one burst.
        public var recheckDoneSeconds: Double = 900
        public var include: [String] = ["*"]
        public var exclude: [String] = []
    }

    /// `[queue]`: claims, leases and retries.
    public struct QueueSection: Sendable, Equatable {
        public var maxAttempts: Int = 3
        public var leaseTimeoutSeconds: Double = 120
        public var heartbeatSeconds: Double = 10
        public var shutdownGraceSeconds: Double = 30
        public var retryBackoffSeconds: Double = 10
        public var onChange: String = "redo"
        public var followSymlinks: Bool = false
    }

    /// `[media]`: what an input may be opened as.
    public struct MediaSection: Sendable, Equatable {
        /// Playlists, concat lists and image sequences read other files named inside them.
        public var allowPlaylists: Bool = false
    }

    /// The folder relative paths are resolved against (the config file's folder, or the cwd).
    public var baseDirectory: String = FileManager.default.currentDirectoryPath

    public init() {}

    // MARK: loading

    public static func load(file: String) throws(ConfigError) -> Configuration {
        try load(text: readText(file: file), file: file)
    }

    /// The text of a config file, for `load(text:file:)`.
    public static func readText(file: String) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file: file, key: "(file)", value: nil, problem: "cannot be read: \(error.localizedDescription)")
        }
    }

    /// A config file's text as read earlier (the daemon hands its workers the text it
    /// accepted, not the file, which may have been edited since), resolved against the file's folder.
    public static func load(text: String, file: String) throws(ConfigError) -> Configuration {
        var config = try parse(text, file: file)
        config.baseDirectory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        return config
    }

    /// The environment variable through which a daemon gives its workers the config text it runs with.
    public static let workerConfigVariable = "DROPSCRIBE_WORKER_CONFIG"

    public static func parse(_ text: String, file: String = "(config)") throws(ConfigError) -> Configuration {
        // The TOML parser reads a C string: a NUL would silently end the file there
        // (binary junk would pass as an empty, valid config).
        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].filter { $0 == UInt8(ascii: "\n") }.count + 1
            throw ConfigError(file: file, key: "(syntax)", value: nil, problem: "not valid TOML at line \(line): a NUL byte (binary data, not a config file?)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ConfigError(file: file, key: "(syntax)", value: nil,
                              problem: "not valid TOML at line \(e.source.begin.line), column \(e.source.begin.column): \(e.description)")
        } catch {
            throw ConfigError(file: file, key: "(syntax)", value: nil, problem: "not valid TOML: \(error)")
        }
        var c = Configuration()
        let reader = Reader(file: file)
        try reader.read(table, prefix: "") { key, value, r throws(ConfigError) in
            switch key {
            case "inbox": c.inbox = try r.string(key, value, nonEmpty: true)
            case "output_dir": c.outputDir = try r.string(key, value)
            case "archive_dir": c.archiveDir = try r.string(key, value)
            case "formats": c.formats = try r.formats(key, value)
            case "workers": c.workers = try r.int(key, value, in: 1...64)
            case "threads_per_worker": c.threadsPerWorker = try r.int(key, value, in: 0...256)
            case "output_permissions": c.outputPermissions = try r.permissions(key, value)
            case "log_level": c.logLevel = try r.oneOf(key, value, ["trace", "debug", "info", "notice", "warning", "error", "critical"])
            case "metrics_file": c.metricsFile = try r.string(key, value)
            case "health_file": c.healthFile = try r.string(key, value)
            case "worker_memory_limit_mb": c.workerMemoryLimitMB = try r.int(key, value, in: 0...16_777_216)
            case "worker_max_jobs": c.workerMaxJobs = try r.int(key, value, in: 1...1_000_000)
            case "model": try r.read(r.table(key, value), prefix: "model.") { k, v, r throws(ConfigError) in
                switch k {
                case "model.path": c.model.path = try r.string(k, v, nonEmpty: true)
                case "model.name": c.model.name = try r.parsed(k, v, ModelLocation.name)
                case "model.models_dir": c.model.modelsDir = try r.string(k, v, nonEmpty: true)
                case "model.beam_size": c.model.beamSize = try r.int(k, v, in: 1...64)
                case "model.best_of": c.model.bestOf = try r.int(k, v, in: 1...64)
                case "model.patience": c.model.patience = try r.double(k, v, in: 0.1...10)
                case "model.length_penalty": c.model.lengthPenalty = try r.double(k, v, in: 0...10)
                case "model.language": c.model.language = try r.language(k, v)
                case "model.task": c.model.task = try r.parsed(k, v, ConfigValues.task)
                case "model.word_timestamps": c.model.wordTimestamps = try r.bool(k, v)
                case "model.initial_prompt": c.model.initialPrompt = try r.string(k, v)
                case "model.hotwords": c.model.hotwords = try r.string(k, v)
                case "model.prepend_punctuations": c.model.prependPunctuations = try r.string(k, v)
                case "model.append_punctuations": c.model.appendPunctuations = try r.string(k, v)
                case "model.temperatures": c.model.temperatures = try r.doubles(k, v, in: 0...2)
                case "model.compression_ratio_threshold": c.model.compressionRatioThreshold = try r.double(k, v, in: 0...100)
                case "model.log_prob_threshold": c.model.logProbThreshold = try r.double(k, v, in: -100...0)
                case "model.no_speech_threshold": c.model.noSpeechThreshold = try r.double(k, v, in: 0...1)
                case "model.condition_on_previous_text": c.model.conditionOnPreviousText = try r.bool(k, v)
                case "model.compute_type": c.model.computeType = try r.parsed(k, v, ConfigValues.computeType)
                default: throw r.unknown(k, v)
                }
            }
            case "watch": try r.read(r.table(key, value), prefix: "watch.") { k, v, r throws(ConfigError) in
                switch k {
                case "watch.inotify": c.watch.inotify = try r.bool(k, v)
                case "watch.recursive": c.watch.recursive = try r.bool(k, v)
                case "watch.rescan_seconds": c.watch.rescanSeconds = try r.double(k, v, in: 0.1...86400)
                case "watch.settle_seconds": c.watch.settleSeconds = try r.double(k, v, in: 0...86400)
                case "watch.recheck_done_seconds": c.watch.recheckDoneSeconds = try r.double(k, v, in: 1...604_800)
                case "watch.include": c.watch.include = try r.strings(k, v)
                case "watch.exclude": c.watch.exclude = try r.strings(k, v)
                default: throw r.unknown(k, v)
                }
            }
            case "queue": try r.read(r.table(key, value), prefix: "queue.") { k, v, r throws(ConfigError) in
                switch k {
                case "queue.max_attempts": c.queue.maxAttempts = try r.int(k, v, in: 1...100)
                case "queue.lease_timeout_seconds": c.queue.leaseTimeoutSeconds = try r.double(k, v, in: 1...86400)
                case "queue.heartbeat_seconds": c.queue.heartbeatSeconds = try r.double(k, v, in: 0.1...3600)
                case "queue.shutdown_grace_seconds": c.queue.shutdownGraceSeconds = try r.double(k, v, in: 0...3600)
                case "queue.retry_backoff_seconds": c.queue.retryBackoffSeconds = try r.double(k, v, in: 0...86400)
                case "queue.on_change": c.queue.onChange = try r.oneOf(k, v, ["redo", "ignore"])
                case "queue.follow_symlinks": c.queue.followSymlinks = try r.bool(k, v)
                default: throw r.unknown(k, v)
                }
            }
            case "vad_filter", "batch_size": try c.vad.readTopLevel(key, value, r)
            case "vad": try r.read(r.table(key, value), prefix: "vad.") { k, v, r throws(ConfigError) in try c.vad.read(k, v, r) }
            case "media": try r.read(r.table(key, value), prefix: "media.") { k, v, r throws(ConfigError) in
                switch k {
                case "media.allow_playlists": c.media.allowPlaylists = try r.bool(k, v)
                default: throw r.unknown(k, v)
                }
            }
            case "rule": c.rules = try Rule.parseAll(value, r)
            case "journal", "limits": try c.readHardening(key, value, r)
            default: if try !c.readJobEndKey(key, value, r) { throw r.unknown(key, value) }
            }
        }
        if c.jobs.deleteSource, !c.archiveDir.isEmpty {
            throw ConfigError(file: file, key: "delete_source", value: "true", problem: "cannot be set together with archive_dir (the source is either archived or deleted)")
        }
        if c.queue.heartbeatSeconds * 2 > c.queue.leaseTimeoutSeconds {
            throw ConfigError(file: file, key: "queue.heartbeat_seconds", value: "\(c.queue.heartbeatSeconds)",
                              problem: "must be at most half of queue.lease_timeout_seconds (\(c.queue.leaseTimeoutSeconds)), or live leases look stale")
        }
        return c
    }

    // MARK: derived values

    public func resolve(_ path: String) -> String {
        if path.isEmpty || path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: baseDirectory, isDirectory: true)).standardizedFileURL.path
    }

    /// Checks what can only be checked against the filesystem, and builds the inbox layout.
    public func layout() throws(ConfigError) -> InboxLayout {
        let inboxPath = resolve(inbox)
        guard let root = realpath(inboxPath) else {
            throw ConfigError(file: "(configuration)", key: "inbox", value: inboxPath, problem: "folder does not exist")
        }
        let output = outputDir.isEmpty ? nil : FilePath(realpath(resolve(outputDir)) ?? resolve(outputDir))
        let archive = archiveDir.isEmpty ? nil : FilePath(realpath(resolve(archiveDir)) ?? resolve(archiveDir))
        var layout = InboxLayout(root: FilePath(root), outputDirectory: output, archiveDirectory: archive,
                                 recursive: watch.recursive, followSymlinks: queue.followSymlinks,
                                 rules: IgnoreRules(include: watch.include, exclude: watch.exclude))
        layout.ruleFolders = ruleFolders()
        return layout
    }

    public var queueOptions: QueueOptions {
        var o = QueueOptions()
        o.maxAttempts = queue.maxAttempts
        o.leaseTimeoutSeconds = queue.leaseTimeoutSeconds
        o.heartbeatSeconds = queue.heartbeatSeconds
        o.retryBackoffSeconds = queue.retryBackoffSeconds
        o.redoOnChange = queue.onChange == "redo"
        return o
    }

    func realpath(_ p: String) -> String? {
        guard let r = Foundation.realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}

/// Typed access to TOML values, producing errors that name the key and value.
struct Reader {
    let file: String

    func read(_ table: TOMLTable, prefix: String,
              _ body: (String, any TOMLValueConvertible, inout Reader) throws(ConfigError) -> Void) throws(ConfigError) {
        var me = self
        for (key, value) in table {
            try body(prefix + key, value, &me)
        }
    }

    func unknown(_ key: String, _ value: any TOMLValueConvertible) -> ConfigError {
        ConfigError(file: file, key: key, value: show(value), problem: "unknown key (see config.example.toml for every key)")
    }

    func bad(_ key: String, _ value: any TOMLValueConvertible, _ problem: String) -> ConfigError {
        ConfigError(file: file, key: key, value: show(value), problem: problem)
    }

    func show(_ value: any TOMLValueConvertible) -> String {
        if let s = value.string { return "\"\(s)\"" }
        return value.debugDescription
    }

    func table(_ key: String, _ value: any TOMLValueConvertible) throws(ConfigError) -> TOMLTable {
        guard let t = value.table else { throw bad(key, value, "must be a table ([\(key)])") }
        return t
    }

    func string(_ key: String, _ value: any TOMLValueConvertible, nonEmpty: Bool = false) throws(ConfigError) -> String {
        guard let s = value.string else { throw bad(key, value, "must be a string") }
        if nonEmpty && s.isEmpty { throw bad(key, value, "must not be empty") }
        return s
    }

    func bool(_ key: String, _ value: any TOMLValueConvertible) throws(ConfigError) -> Bool {
        guard let b = value.bool else { throw bad(key, value, "must be true or false") }
        return b
    }

    func int(_ key: String, _ value: any TOMLValueConvertible, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard value.type == .int, let i = value.int else { throw bad(key, value, "must be a whole number") }
        guard range.contains(i) else { throw bad(key, value, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return i
    }

    func double(_ key: String, _ value: any TOMLValueConvertible, in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        let d: Double
        if value.type == .int, let i = value.int { d = Double(i) } else if value.type == .double, let x = value.double { d = x } else {
            throw bad(key, value, "must be a number")
        }
        guard range.contains(d) else { throw bad(key, value, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return d
    }

    func strings(_ key: String, _ value: any TOMLValueConvertible) throws(ConfigError) -> [String] {
        guard let a = value.array else { throw bad(key, value, "must be an array of strings") }
        var out: [String] = []
        for v in a {
            guard let s = v.string else { throw bad(key, value, "must be an array of strings") }
            out.append(s)
        }
        return out
    }

    func doubles(_ key: String, _ value: any TOMLValueConvertible, in range: ClosedRange<Double>) throws(ConfigError) -> [Double] {
        guard let a = value.array, !a.isEmpty else { throw bad(key, value, "must be a non-empty array of numbers") }
        var out: [Double] = []
        for v in a { out.append(try double(key, v, in: range)) }
        return out
    }

    func oneOf(_ key: String, _ value: any TOMLValueConvertible, _ allowed: [String]) throws(ConfigError) -> String {
        let s = try string(key, value)
        guard allowed.contains(s) else { throw bad(key, value, "must be one of \(allowed.joined(separator: ", "))") }
        return s
    }

    /// Empty (detect) or a Whisper language code; the model may know fewer (checked at load).
    func language(_ key: String, _ value: any TOMLValueConvertible) throws(ConfigError) -> String {
        let s = try string(key, value)
        guard s.isEmpty || Tokenizer.allLanguageCodes.contains(s) else {
            throw bad(key, value, "is not a Whisper language code (\(Tokenizer.allLanguageCodes.joined(separator: ", ")), or empty to detect)")
        }
        return s
    }

    func formats(_ key: String, _ value: any TOMLValueConvertible) throws(ConfigError) -> [OutputFormat] {
        let list = try strings(key, value)
        do { return try ConfigValues.formats(list) } catch { throw bad(key, value, error.problem) }
    }

    /// A string value parsed by one of `ConfigValues`' parsers (shared with the command line).
    func parsed<Value>(_ key: String, _ value: any TOMLValueConvertible,
                       _ parse: (String) throws(ConfigValueError) -> Value) throws(ConfigError) -> Value {
        let s = try string(key, value)
        do { return try parse(s) } catch { throw bad(key, value, error.problem) }
    }

    func permissions(_ key: String, _ value: any TOMLValueConvertible) throws(ConfigError) -> String {
        let s = try string(key, value)
        if s == "source" { return s }
        guard s.count <= 4, let mode = Int(s, radix: 8), mode <= 0o777 else {
            throw bad(key, value, "must be \"source\" or an octal mode such as \"0644\"")
        }
        return s
    }
}
