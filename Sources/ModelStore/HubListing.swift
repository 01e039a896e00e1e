import Foundation

/// A repository's commit and the model files in it, as the Hub's API describes them.
///
/// Exists so a fetch knows, before it downloads a byte, which files make the model (the same set
/// faster-whisper's `download_model` asks for), how big each is and what hash it must have, and so
/// the listing a server sends (untrusted input) is reduced to safe file names and sane numbers.
public struct HubListing: Sendable, Equatable {
    /// The commit the listing describes; every file is fetched at this commit.
    public let commit: String
    public let files: [HubFile]

    /// The file patterns faster-whisper downloads (`vocabulary.*` covers `.txt` and `.json`).
    public static func isModelFile(_ name: String) -> Bool {
        if ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json"].contains(name) { return true }
        guard name.hasPrefix("vocabulary."), name.count > "vocabulary.".count, name.count <= 64 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
    }

    /// Parses the JSON of `GET /api/models/{repo}/revision/{rev}?blobs=true`, keeping the model files.
    public static func parse(_ data: Data, repository: String) throws(ModelStoreError) -> HubListing {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw .badListing(repository: repository, problem: "not JSON (\(data.count) bytes)")
        }
        guard let object = root as? [String: Any] else {
            throw .badListing(repository: repository, problem: "not a JSON object")
        }
        guard let commit = object["sha"] as? String, isHex(commit, count: 40) else {
            throw .badListing(repository: repository, problem: "no commit id (\"sha\")")
        }
        guard let siblings = object["siblings"] as? [[String: Any]] else {
            throw .badListing(repository: repository, problem: "no file list (\"siblings\")")
        }
        var files: [HubFile] = []
        for sibling in siblings {
            guard let name = sibling["rfilename"] as? String, isModelFile(name) else { continue }
            files.append(try file(name, sibling, repository: repository))
        }
        guard files.contains(where: { $0.name == "model.bin" }), files.contains(where: { $0.name == "config.json" }) else {
            throw .notAModelRepository(repository: repository, commit: commit)
        }
        return HubListing(commit: commit, files: files.sorted { $0.size < $1.size })
    }

    private static func file(_ name: String, _ sibling: [String: Any], repository: String) throws(ModelStoreError) -> HubFile {
        let lfs = sibling["lfs"] as? [String: Any]
        guard let size = (lfs?["size"] ?? sibling["size"]) as? Int, size >= 0, size <= HubFile.maximumSize else {
            throw .badListing(repository: repository, problem: "\(name) has no valid size")
        }
        if let sha256 = lfs?["sha256"] as? String {
            guard isHex(sha256, count: 64) else {
                throw .badListing(repository: repository, problem: "\(name) has a malformed sha256")
            }
            return HubFile(name: name, size: size, digest: .sha256(sha256.lowercased()))
        }
        guard let blob = sibling["blobId"] as? String, isHex(blob, count: 40) else {
            throw .badListing(repository: repository, problem: "\(name) has neither an LFS sha256 nor a git blob id")
        }
        return HubFile(name: name, size: size, digest: .gitBlob(blob.lowercased()))
    }

    static func isHex(_ s: String, count: Int) -> Bool {
        s.utf8.count == count && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
    }
}

/// One file of a model repository: its name, its size and the hash that proves its bytes.
public struct HubFile: Sendable, Equatable {
    /// The largest file a listing may declare (a float32 large model is about 6 GB).
    public static let maximumSize = 64 << 30

    /// How the Hub identifies the bytes: LFS files by SHA-256, small files by their git blob SHA-1.
    public enum Digest: Sendable, Equatable {
        case sha256(String)
        case gitBlob(String)
    }

    public let name: String
    public let size: Int
    public let digest: Digest
}
