import HotFolder
import SystemPackage
import TOMLKit
import Transcripts
import Whisper

/// One `[[rule]]` table of the config: settings for the jobs whose path (relative to
/// the inbox) matches one of its globs.
///
/// It exists so that one inbox can serve several workflows (a German folder, an
/// English one, subtitles for videos) while the rules stay in the config, which is
/// trusted, never in the inbox, which is not. Rules are tried in order and the first
/// that matches wins; its keys override the global ones, the rest of the config stays
/// as it is. Every key is optional except `match`.
public struct Rule: Sendable, Equatable {
    /// Position in the config, from 1.
    public var index: Int
    /// Shell globs on the inbox-relative path (`PathGlob`); one that matches selects the rule.
    public var match: [String]
    public var language: String?
    public var task: Tokenizer.Task?
    /// A model folder (relative to the config file's folder, like `model.path`) or a model name
    /// installed by `dropscribe models fetch` (see `ModelLocation`).
    public var model: String?
    public var computeType: ComputeType?
    public var beamSize: Int?
    public var formats: [OutputFormat]?
    public var wordTimestamps: Bool?
    public var initialPrompt: String?
    public var hotwords: String?
    public var outputDir: String?
    public var archiveDir: String?
    public var deleteSource: Bool?
    public var onDone: [String]?
    public var onFailed: [String]?
    // The `[vad]` settings, once they exist, get their optional fields here, a `case` in
    // `Rule.parse` and a line in `apply(to:)`.

    public init(index: Int, match: [String]) {
        self.index = index
        self.match = match
    }

    public func matches(_ relativePath: String) -> Bool { match.contains { PathGlob.matches($0, relativePath) } }

    /// What the job's markers record.
    public var applied: AppliedRule { AppliedRule(index: index, match: match) }

    /// The config a matching job runs with: this rule's keys over the global ones.
    public func apply(to c: inout Configuration) {
        if let language { c.model.language = language }
        if let task { c.model.task = task }
        if let model { c.model.path = model; c.model.name = "" }
        if let computeType { c.model.computeType = computeType }
        if let beamSize { c.model.beamSize = beamSize }
        if let formats { c.formats = formats }
        if let wordTimestamps { c.model.wordTimestamps = wordTimestamps }
        if let initialPrompt { c.model.initialPrompt = initialPrompt }
        if let hotwords { c.model.hotwords = hotwords }
        if let outputDir { c.outputDir = outputDir }
        // A rule that chooses what becomes of the source (archive or delete) replaces the global choice.
        if let archiveDir {
            c.archiveDir = archiveDir
            if !archiveDir.isEmpty, deleteSource == nil { c.jobs.deleteSource = false }
        }
        if let deleteSource {
            c.jobs.deleteSource = deleteSource
            if deleteSource, archiveDir == nil { c.archiveDir = "" }
        }
        if let onDone { c.jobs.onDone = onDone }
        if let onFailed { c.jobs.onFailed = onFailed }
    }
}

/// The keys about what happens when a job ends: `delete_source` and the hooks
/// (top-level keys; `delete_source`, `on_done` and `on_failed` also per rule).
public struct JobEndSettings: Sendable, Equatable {
    /// Remove the source (and its markers) once its outputs and `.done` are durable.
    public var deleteSource = false
    /// A command (argument list, no shell) run when a job is done; empty: none.
    public var onDone: [String] = []
    /// A command run when a job has failed for good (not on a retry); empty: none.
    public var onFailed: [String] = []
    public var hookTimeoutSeconds: Double = 60
    public var hookConcurrency: Int = 2
}

extension Configuration {
    /// The first rule matching a job's inbox-relative path, if any.
    public func rule(for relativePath: String) -> Rule? { rules.first { $0.matches(relativePath) } }

    /// The settings a job runs with: the global config with its rule applied.
    /// Resolved once, when the job is claimed; a later reload never changes them.
    public func forJob(_ relativePath: String) -> Configuration {
        var c = self
        rule(for: relativePath)?.apply(to: &c)
        return c
    }

    /// The top-level keys of `JobEndSettings`; false when `key` is none of them.
    mutating func readJobEndKey(_ key: String, _ value: any TOMLValueConvertible, _ r: Reader) throws(ConfigError) -> Bool {
        switch key {
        case "delete_source": jobs.deleteSource = try r.bool(key, value)
        case "on_done": jobs.onDone = try r.command(key, value)
        case "on_failed": jobs.onFailed = try r.command(key, value)
        case "hook_timeout_seconds": jobs.hookTimeoutSeconds = try r.double(key, value, in: 0.1...86400)
        case "hook_concurrency": jobs.hookConcurrency = try r.int(key, value, in: 1...64)
        default: return false
        }
        return true
    }
}

extension Rule {
    /// The rules of the config's `rule` key (an array of tables), validated.
    static func parseAll(_ value: any TOMLValueConvertible, _ r: Reader) throws(ConfigError) -> [Rule] {
        guard let array = value.array else { throw r.bad("rule", value, "must be an array of tables ([[rule]])") }
        var rules: [Rule] = []
        for (offset, element) in array.enumerated() {
            guard let table = element.table else { throw r.bad("rule", value, "must be an array of tables ([[rule]])") }
            rules.append(try parse(table, index: offset + 1, r))
        }
        return rules
    }

    static func parse(_ table: TOMLTable, index: Int, _ r: Reader) throws(ConfigError) -> Rule {
        let unnamed = "[[rule]] \(index)"
        guard let matchValue = table["match"] else { throw ConfigError(file: r.file, key: unnamed, value: nil, problem: "has no match key") }
        let patterns: [String]
        if let one = matchValue.string { patterns = [one] } else { patterns = try r.strings(unnamed + ".match", matchValue) }
        if patterns.isEmpty { throw r.bad(unnamed + ".match", matchValue, "must name at least one pattern") }
        for p in patterns {
            if let problem = PathGlob.problem(p) { throw r.bad(unnamed + ".match", matchValue, "\"\(p)\" \(problem)") }
        }
        var rule = Rule(index: index, match: patterns)
        // Every other error names the rule by its index and its match.
        let prefix = "[[rule]] \(index) (match " + patterns.map { "\"\($0)\"" }.joined(separator: ", ") + ")."
        try r.read(table, prefix: prefix) { key, v, r throws(ConfigError) in
            switch String(key.dropFirst(prefix.count)) {
            case "match": break
            case "language": rule.language = try r.language(key, v)
            case "task": rule.task = try r.parsed(key, v, ConfigValues.task)
            case "model": rule.model = try r.string(key, v, nonEmpty: true)
            case "compute_type": rule.computeType = try r.parsed(key, v, ConfigValues.computeType)
            case "beam_size": rule.beamSize = try r.int(key, v, in: 1...64)
            case "formats": rule.formats = try r.formats(key, v)
            case "word_timestamps": rule.wordTimestamps = try r.bool(key, v)
            case "initial_prompt": rule.initialPrompt = try r.string(key, v)
            case "hotwords": rule.hotwords = try r.string(key, v)
            case "output_dir": rule.outputDir = try r.string(key, v)
            case "archive_dir": rule.archiveDir = try r.string(key, v)
            case "delete_source": rule.deleteSource = try r.bool(key, v)
            case "on_done": rule.onDone = try r.command(key, v)
            case "on_failed": rule.onFailed = try r.command(key, v)
            default:
                throw ConfigError(file: r.file, key: key, value: r.show(v),
                                  problem: "unknown key in a rule (a rule may set: match, language, task, model, compute_type, beam_size, formats, word_timestamps, initial_prompt, hotwords, output_dir, archive_dir, delete_source, on_done, on_failed)")
            }
        }
        if rule.deleteSource == true, rule.archiveDir.map({ !$0.isEmpty }) == true {
            throw ConfigError(file: r.file, key: prefix + "delete_source", value: "true",
                              problem: "a rule cannot both archive the source (archive_dir) and delete it")
        }
        return rule
    }
}

extension Reader {
    /// A command as an argument list (no shell): empty for none, else a program and its arguments.
    func command(_ key: String, _ value: any TOMLValueConvertible) throws(ConfigError) -> [String] {
        let list = try strings(key, value)
        if let program = list.first, program.isEmpty { throw bad(key, value, "the program (the first element) must not be empty") }
        return list
    }
}

extension Configuration {
    /// The rules' output and archive folders, resolved like the global ones, for the scan to skip.
    func ruleFolders() -> [FilePath] {
        rules.flatMap { [$0.outputDir, $0.archiveDir] }.compactMap { $0 }.filter { !$0.isEmpty }
            .map { FilePath(realpath(resolve($0)) ?? resolve($0)) }
    }
}
