import HotFolder
import Transcripts
import Whisper

/// What `dropscribe explain PATH` prints: the rule that applies to a path and the
/// settings a job there runs with.
///
/// It exists so that a config with several rules can be checked before files are
/// dropped: the first-match-wins order is easy to get wrong, and the answer comes
/// from the same `Configuration.forJob` the daemon uses at claim time.
public struct RuleExplanation: Sendable, Equatable {
    public var relativePath: String
    public var rule: Rule?
    /// Why the path would not become a job at all (ignore rules), or nil.
    public var notAJob: String?
    public var settings: Configuration

    public init(configuration: Configuration, relativePath: String, ignore: IgnoreRules? = nil) {
        self.relativePath = relativePath
        rule = configuration.rule(for: relativePath)
        let name = String(relativePath.split(separator: "/").last ?? "")
        notAJob = (ignore ?? IgnoreRules(include: configuration.watch.include, exclude: configuration.watch.exclude)).reasonToIgnore(name)
        settings = configuration.forJob(relativePath)
    }

    public func render() -> String {
        let c = settings
        func quoted(_ s: String) -> String { "\"" + UntrustedText.printable(s, limit: 4096) + "\"" }
        func folder(_ s: String, _ none: String) -> String { s.isEmpty ? none : c.resolve(s) }
        func command(_ argv: [String]) -> String { argv.isEmpty ? "(none)" : "[" + argv.map(quoted).joined(separator: ", ") + "]" }
        var lines = ["path: \(quoted(relativePath)) (relative to the inbox)"]
        if let notAJob { lines.append("note: not a job (\(notAJob)); the settings below would apply if it were") }
        lines.append("rule: " + (rule.map(\.applied.description) ?? "none (the global settings)"))
        lines += [
            "model: \((try? c.modelFolder()) ?? (c.model.name.isEmpty ? c.resolve(c.model.path) : c.model.name + " (not installed)"))",
            "language: \(c.model.language.isEmpty ? "(detect)" : c.model.language)",
            "task: \(c.model.task.rawValue)",
            "compute_type: \(c.model.computeType.rawValue)",
            "beam_size: \(c.model.beamSize)",
            "formats: \(c.formats.map(\.rawValue).joined(separator: ", "))",
            "word_timestamps: \(c.model.wordTimestamps)",
            "initial_prompt: \(quoted(c.model.initialPrompt))",
            "hotwords: \(quoted(c.model.hotwords))",
            "output_dir: \(folder(c.outputDir, "(beside the source)"))",
            "archive_dir: \(folder(c.archiveDir, "(none)"))",
            "delete_source: \(c.jobs.deleteSource)",
            "on_done: \(command(c.jobs.onDone))",
            "on_failed: \(command(c.jobs.onFailed))",
        ]
        return lines.joined(separator: "\n")
    }
}
