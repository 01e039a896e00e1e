/// The model names faster-whisper accepts, and the Hugging Face repository each one is fetched from.
///
/// Exists so that `[model] name = "large-v3-turbo"`, `--model turbo` and `dropscribe models fetch small`
/// mean exactly what they mean to a faster-whisper user: the same repositories its `download_model`
/// uses, the same aliases (`large` is large-v3, `turbo` is large-v3-turbo), and `owner/name` for any
/// other CTranslate2 conversion on the Hub.
public enum ModelCatalog {
    /// Name → repository, in the order faster-whisper lists them.
    public static let repositories: [(name: String, repository: String)] = [
        ("tiny.en", "Systran/faster-whisper-tiny.en"),
        ("tiny", "Systran/faster-whisper-tiny"),
        ("base.en", "Systran/faster-whisper-base.en"),
        ("base", "Systran/faster-whisper-base"),
        ("small.en", "Systran/faster-whisper-small.en"),
        ("small", "Systran/faster-whisper-small"),
        ("medium.en", "Systran/faster-whisper-medium.en"),
        ("medium", "Systran/faster-whisper-medium"),
        ("large-v1", "Systran/faster-whisper-large-v1"),
        ("large-v2", "Systran/faster-whisper-large-v2"),
        ("large-v3", "Systran/faster-whisper-large-v3"),
        ("large", "Systran/faster-whisper-large-v3"),
        ("distil-large-v2", "Systran/faster-distil-whisper-large-v2"),
        ("distil-medium.en", "Systran/faster-distil-whisper-medium.en"),
        ("distil-small.en", "Systran/faster-distil-whisper-small.en"),
        ("distil-large-v3", "Systran/faster-distil-whisper-large-v3"),
        ("distil-large-v3.5", "distil-whisper/distil-large-v3.5-ct2"),
        ("large-v3-turbo", "mobiuslabsgmbh/faster-whisper-large-v3-turbo"),
        ("turbo", "mobiuslabsgmbh/faster-whisper-large-v3-turbo"),
    ]

    /// Aliases install into their canonical name's folder, so `large` and `large-v3` share one copy.
    static let canonicalNames: [String: String] = ["large": "large-v3", "turbo": "large-v3-turbo"]

    /// The names, for help texts and error messages.
    public static var names: [String] { repositories.map(\.name) }

    /// What a model name means: the repository to fetch and the folder it installs into.
    ///
    /// A catalog name maps as faster-whisper maps it; `owner/name` is taken as a repository on the Hub
    /// (its folder is `owner--name`, the Hub cache's own spelling). Anything else is not a name.
    public static func lookUp(_ name: String) -> ModelName? {
        if let entry = repositories.first(where: { $0.name == name }) {
            return ModelName(requested: name, repository: entry.repository,
                             folderName: canonicalNames[name] ?? name)
        }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy(isRepositoryComponent) else { return nil }
        return ModelName(requested: name, repository: name, folderName: parts.joined(separator: "--"))
    }

    /// The Hub's rule for owner and repository names: letters, digits, `-`, `_`, `.`; not `.` or `..`.
    static func isRepositoryComponent(_ part: Substring) -> Bool {
        guard !part.isEmpty, part.count <= 96, part != ".", part != ".." else { return false }
        return part.allSatisfy { c in c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_" || c == ".") }
    }
}

/// One model as the catalog resolved it: where it comes from and where it lives once fetched.
public struct ModelName: Sendable, Equatable {
    /// What the user wrote (`turbo`, `small`, `Systran/faster-whisper-small`).
    public let requested: String
    /// The Hugging Face repository (`owner/name`).
    public let repository: String
    /// The folder under the models directory (`large-v3-turbo`, `owner--name`); never contains `/`.
    public let folderName: String
}
