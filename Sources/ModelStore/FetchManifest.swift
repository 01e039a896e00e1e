import Foundation
import SystemPackage

/// What a completed fetch installed: repository, commit and each file's size and hash.
///
/// Exists so a repeated fetch of an unchanged repository trusts files whose size still matches
/// instead of hashing gigabytes again, and so `models list` can say where a model came from.
struct FetchManifest: Codable, Equatable {
    struct Entry: Codable, Equatable {
        var name: String
        var size: Int
        var sha256: String?
        var gitBlob: String?

        init(_ file: HubFile) {
            name = file.name
            size = file.size
            switch file.digest {
            case .sha256(let h): (sha256, gitBlob) = (h, nil)
            case .gitBlob(let h): (sha256, gitBlob) = (nil, h)
            }
        }
    }

    var repository: String
    var commit: String
    var files: [Entry]

    init(repository: String, commit: String, files: [HubFile]) {
        self.repository = repository
        self.commit = commit
        self.files = files.map(Entry.init)
    }

    static func read(_ path: FilePath) -> FetchManifest? {
        guard let data = FileManager.default.contents(atPath: path.string), data.count < 1 << 20 else { return nil }
        return try? JSONDecoder().decode(FetchManifest.self, from: data)
    }

    func write(_ path: FilePath) throws(ModelStoreError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(self).write(to: URL(fileURLWithPath: path.string), options: .atomic)
        } catch {
            throw .io(path: path.string, problem: "cannot write the fetch manifest: \(error.localizedDescription)")
        }
    }
}
