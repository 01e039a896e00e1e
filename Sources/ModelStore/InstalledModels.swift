import Foundation
import SystemPackage

/// The models in a models directory, and how a `--model` or `[model] name` value finds its folder.
///
/// Exists so a user can write a name where a folder was needed (`--model large-v3-turbo`) and get
/// either the fetched folder or a message that says how to fetch it, and so `models list` can show
/// what is installed without loading any weights.
public enum InstalledModels {
    /// A folder that has the two files every CTranslate2 Whisper model has.
    public static func isComplete(_ folder: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: folder + "/config.json") && fm.fileExists(atPath: folder + "/model.bin")
    }

    /// The folder `value` means: an existing folder as it is; a model name as its folder under
    /// `modelsDirectory`, which must be installed. A value that is neither is an error that names it.
    public static func resolve(_ value: String, modelsDirectory: String) throws(ModelStoreError) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: value, isDirectory: &isDirectory), isDirectory.boolValue {
            return value
        }
        guard let name = ModelCatalog.lookUp(value) else {
            if value.contains("/") || value.hasPrefix(".") {
                throw .io(path: value, problem: "no such model folder")
            }
            throw .unknownName(value)
        }
        let folder = modelsDirectory + "/" + name.folderName
        guard isComplete(folder) else { throw .notInstalled(name: value, folder: modelsDirectory) }
        return folder
    }

    /// One installed model as `models list` shows it.
    public struct Entry: Sendable {
        public let folderName: String
        public let path: String
        public let bytes: Int
        /// The number of languages it transcribes: 0 for an English-only model (vocabulary of 51864).
        public let languages: Int
        /// The repository and commit it was fetched from, when dropscribe fetched it.
        public let source: String?
    }

    /// Every complete model folder directly under `modelsDirectory`, by name.
    public static func list(_ modelsDirectory: String) -> [Entry] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: modelsDirectory) else { return [] }
        return names.sorted().compactMap { name -> Entry? in
            let path = modelsDirectory + "/" + name
            guard !name.hasPrefix("."), isComplete(path) else { return nil }
            let files = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            let bytes = files.reduce(0) { sum, f in
                let size = (try? fm.attributesOfItem(atPath: path + "/" + f))?[.size] as? Int
                return sum + (size ?? 0)
            }
            let manifest = FetchManifest.read(FilePath(path).appending(ModelFetcher.manifestName))
            return Entry(folderName: name, path: path, bytes: bytes, languages: languageCount(path),
                         source: manifest.map { "\($0.repository)@\($0.commit.prefix(12))" })
        }
    }

    /// English-only Whisper vocabularies have 51864 tokens, multilingual ones 51865 (99 languages) or
    /// 51866 (v3: 100); config.json's `lang_ids`, when present, is the exact list.
    static func languageCount(_ folder: String) -> Int {
        let fm = FileManager.default
        var vocabulary = 0
        if let data = fm.contents(atPath: folder + "/vocabulary.json"), data.count < 64 << 20,
           let tokens = try? JSONSerialization.jsonObject(with: data) as? [Any] {
            vocabulary = tokens.count
        } else if let data = fm.contents(atPath: folder + "/vocabulary.txt"), data.count < 64 << 20 {
            vocabulary = data.reduce(0) { $1 == 10 ? $0 + 1 : $0 }
        }
        guard vocabulary >= 51865 else { return 0 }
        if let data = fm.contents(atPath: folder + "/config.json"), data.count < 1 << 20,
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let ids = object["lang_ids"] as? [Any], !ids.isEmpty {
            return ids.count
        }
        return vocabulary - 51765
    }
}
