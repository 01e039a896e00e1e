import Foundation

/// The Hugging Face Hub settings a faster-whisper user already has in the environment.
///
/// Exists so the download honours the same conventions as `huggingface_hub`: `HF_ENDPOINT` for a
/// mirror or a local server, `HF_HUB_OFFLINE` for machines that must not reach the network, and
/// `HF_TOKEN` (or the older `HUGGING_FACE_HUB_TOKEN`) for gated or private repositories.
public struct HubEnvironment: Sendable, Equatable {
    /// Base URL without a trailing slash, e.g. `https://huggingface.co`.
    public var endpoint: String
    public var offline: Bool
    public var token: String?
    /// The revision (branch, tag or commit) to fetch; faster-whisper's default is `main`.
    public var revision: String

    public init(endpoint: String = "https://huggingface.co", offline: Bool = false,
                token: String? = nil, revision: String = "main") {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.offline = offline
        self.token = token
        self.revision = revision
    }

    /// The settings from environment variables, as huggingface_hub reads them.
    public static func from(_ env: [String: String]) -> HubEnvironment {
        let truthy: Set<String> = ["1", "true", "yes", "on"]
        let token = env["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            ?? env["HUGGING_FACE_HUB_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return HubEnvironment(
            endpoint: env["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co",
            offline: truthy.contains((env["HF_HUB_OFFLINE"] ?? "").lowercased()),
            token: token)
    }

    /// `GET` this for the repository's commit and its files with sizes and hashes.
    public func listingURL(repository: String) -> String {
        "\(endpoint)/api/models/\(repository)/revision/\(Self.escaped(revision))?blobs=true"
    }

    /// `GET` this for one file at one commit (pinning the commit keeps a fetch consistent even if
    /// the repository moves on while it runs).
    public func fileURL(repository: String, commit: String, file: String) -> String {
        "\(endpoint)/\(repository)/resolve/\(Self.escaped(commit))/\(file.split(separator: "/").map { Self.escaped(String($0)) }.joined(separator: "/"))"
    }

    static func escaped(_ component: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return component.addingPercentEncoding(withAllowedCharacters: allowed) ?? component
    }
}
