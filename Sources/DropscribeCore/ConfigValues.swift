import Transcripts
import Whisper

/// Why a configuration value was refused; the caller adds where it came from (a key of
/// a config file, or a command-line flag).
public struct ConfigValueError: Error, Sendable, Equatable {
    public var problem: String
}

/// The parsers of the values that can come either from the config file or from a
/// command-line flag: `formats` (`--format`), `model.task` (`--task`) and
/// `model.compute_type` (`--compute-type`).
///
/// Exists so that both routes validate with the same code, once, into the engine's own
/// types, and a refused value reads the same whichever route it came by.
public enum ConfigValues {
    /// Output formats by name; "all" stands for every format. Case and surrounding
    /// whitespace are ignored; the list keeps first-seen order without duplicates.
    public static func formats(_ names: [String]) throws(ConfigValueError) -> [OutputFormat] {
        do {
            return try OutputFormat.parseList(names)
        } catch {
            switch error {
            case .unknown(let name):
                let known = OutputFormat.allCases.map(\.rawValue) + ["all"]
                throw ConfigValueError(problem: "unknown format \"\(name)\" (known: \(known.joined(separator: ", ")))")
            case .empty:
                throw ConfigValueError(problem: "must name at least one format")
            }
        }
    }

    /// A comma-separated list of output formats (the command line's form of `formats`).
    public static func formats(commaSeparated list: String) throws(ConfigValueError) -> [OutputFormat] {
        try formats(list.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
    }

    /// `transcribe` or `translate`.
    public static func task(_ name: String) throws(ConfigValueError) -> Tokenizer.Task {
        try oneOf(name, [Tokenizer.Task.transcribe, .translate])
    }

    /// `float32` or `int8`.
    public static func computeType(_ name: String) throws(ConfigValueError) -> ComputeType {
        try oneOf(name, ComputeType.allCases)
    }

    private static func oneOf<Value: RawRepresentable<String>>(_ name: String, _ allowed: [Value]) throws(ConfigValueError) -> Value {
        guard let value = allowed.first(where: { $0.rawValue == name }) else {
            throw ConfigValueError(problem: "must be one of \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}

extension ConfigError {
    /// Where a command-line flag's value is said to come from.
    public static let commandLine = "command line"

    /// A command-line flag's value refused by the parser of the matching config key.
    public init(flag: String, value: String, _ error: ConfigValueError) {
        self.init(file: Self.commandLine, key: flag, value: "\"\(value)\"", problem: error.problem)
    }
}

extension Configuration {
    /// Parses a command-line flag's value with the parser its config key uses, so the
    /// error reads as the config file's would, naming the flag.
    public static func flag<Value>(_ flag: String, _ value: String,
                                   _ parse: (String) throws(ConfigValueError) -> Value) throws(ConfigError) -> Value {
        do { return try parse(value) } catch { throw ConfigError(flag: flag, value: value, error) }
    }
}
