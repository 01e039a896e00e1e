/// Which folder rule of the config a job ran under, as its markers record it.
///
/// It exists so that a listing (`status --json`, the markers themselves) says how
/// each file was handled even after the config changed: the rule's position in
/// the config (1-based) and its `match` patterns at the time the job was claimed.
public struct AppliedRule: Codable, Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var match: [String]

    public init(index: Int, match: [String]) {
        self.index = index
        self.match = match
    }

    /// "rule 2 (match \"de/**\")", as log lines and errors name a rule.
    public var description: String {
        "rule \(index) (match " + match.map { "\"\($0)\"" }.joined(separator: ", ") + ")"
    }
}
