/// What went wrong finding or fetching a model, naming the model, the file and the cause.
///
/// Exists so `dropscribe models fetch`, `--model NAME` and the daemon's start report one line a user
/// can act on: which repository or file, what was expected and what was found.
public enum ModelStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownName(String)
    case notInstalled(name: String, folder: String)
    case offline(name: String, folder: String)
    case badListing(repository: String, problem: String)
    case notAModelRepository(repository: String, commit: String)
    case http(url: String, status: Int)
    case network(url: String, problem: String)
    case sizeMismatch(file: String, expected: Int, got: Int)
    case digestMismatch(file: String, expected: String, got: String)
    case io(path: String, problem: String)

    public var description: String {
        switch self {
        case .unknownName(let name):
            return "unknown model '\(name)': expected a model folder, owner/name on the Hugging Face Hub, or one of: "
                + ModelCatalog.names.joined(separator: ", ")
        case .notInstalled(let name, let folder):
            return "model '\(name)' is not installed in \(folder): run `dropscribe models fetch \(name)`"
        case .offline(let name, let folder):
            return "model '\(name)' is not installed in \(folder) and HF_HUB_OFFLINE is set, so it cannot be downloaded; "
                + "fetch it on a machine with network access and copy the folder"
        case .badListing(let repository, let problem):
            return "the Hub's file list for \(repository) is unusable: \(problem)"
        case .notAModelRepository(let repository, let commit):
            return "\(repository) at \(commit.prefix(12)) has no config.json and model.bin: not a CTranslate2 Whisper model"
        case .http(let url, let status):
            return "\(url): HTTP \(status)" + (status == 401 || status == 403 ? " (a gated or private repository needs HF_TOKEN)" : "")
                + (status == 404 ? " (no such repository, revision or file)" : "")
        case .network(let url, let problem):
            return "\(url): \(problem)"
        case .sizeMismatch(let file, let expected, let got):
            return "\(file): downloaded \(got) bytes where the Hub lists \(expected); the partial file is kept and the next fetch resumes it"
        case .digestMismatch(let file, let expected, let got):
            return "\(file): content hash \(got) does not match the Hub's \(expected); the download was discarded"
        case .io(let path, let problem):
            return "\(path): \(problem)"
        }
    }
}
