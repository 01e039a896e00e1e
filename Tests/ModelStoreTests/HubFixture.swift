import Crypto
import Foundation

/// A model repository written as the Hub serves it: the listing at `api/models/REPO/revision/main`
/// and each file at `REPO/resolve/COMMIT/FILE`, under a temporary folder the test server serves.
struct HubFixture {
    static let commit = String(repeating: "ab12", count: 10)

    let root: String
    let repository: String
    let files: [String: Data]

    /// Writes the repository. `served` replaces a file's bytes on the server while the listing keeps
    /// the hash of `files` (a corrupted mirror); `README.md` is listed to check it is not fetched.
    init(repository: String, files: [String: Data], served: [String: Data] = [:]) throws {
        root = NSTemporaryDirectory() + "hub-\(UUID().uuidString)"
        self.repository = repository
        self.files = files
        var siblings: [[String: Any]] = [["rfilename": "README.md", "size": 5, "blobId": String(repeating: "0", count: 40)]]
        for (name, data) in files.sorted(by: { $0.key < $1.key }) {
            var entry: [String: Any] = ["rfilename": name, "size": data.count, "blobId": Self.gitBlob(data)]
            if name == "model.bin" {
                entry["lfs"] = ["sha256": Self.sha256(data), "size": data.count, "pointerSize": 134]
            }
            siblings.append(entry)
            try Self.write(served[name] ?? data, to: "\(root)/\(repository)/resolve/\(Self.commit)/\(name)")
        }
        let listing = try JSONSerialization.data(withJSONObject: ["id": repository, "sha": Self.commit, "siblings": siblings])
        try Self.write(listing, to: "\(root)/api/models/\(repository)/revision/main")
    }

    func filePath(_ name: String) -> String { "/\(repository)/resolve/\(Self.commit)/\(name)" }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    static func gitBlob(_ data: Data) -> String {
        var hasher = Insecure.SHA1()
        hasher.update(data: Data("blob \(data.count)\0".utf8))
        hasher.update(data: data)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func write(_ data: Data, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// The real tiny.en folder served as Systran's repository, for tests that transcribe what they fetch.
    static func tinyEn(from modelsFolder: String) throws -> HubFixture {
        var files: [String: Data] = [:]
        for name in ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"] {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: modelsFolder + "/tiny.en/" + name))
        }
        return try HubFixture(repository: "Systran/faster-whisper-tiny.en", files: files)
    }

    /// A small stand-in model: the download code does not look inside the files.
    static func smallModel(seed: UInt8 = 7) -> [String: Data] {
        var bytes = [UInt8](repeating: 0, count: 300_000)
        var x = UInt32(seed) | 1
        for i in bytes.indices {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            bytes[i] = UInt8(truncatingIfNeeded: x)
        }
        return [
            "config.json": Data(#"{"lang_ids": [50259, 50260]}"#.utf8),
            "model.bin": Data(bytes),
            "vocabulary.json": Data(("[" + (0..<51865).map { "\"t\($0)\"" }.joined(separator: ",") + "]").utf8),
        ]
    }
}
