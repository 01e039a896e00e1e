import Foundation
@testable import ModelStore
import Testing

/// Model names, Hub settings and file listings: the pure parts of fetching by name.
@Suite struct ModelCatalogTests {
    @Test func namesMapToTheRepositoriesFasterWhisperUsesAndAliasesShareAFolder() throws {
        let turbo = try #require(ModelCatalog.lookUp("turbo"))
        #expect(turbo.repository == "mobiuslabsgmbh/faster-whisper-large-v3-turbo")
        #expect(turbo.folderName == "large-v3-turbo")
        #expect(ModelCatalog.lookUp("large")?.folderName == "large-v3")
        #expect(ModelCatalog.lookUp("distil-large-v3")?.repository == "Systran/faster-distil-whisper-large-v3")
        #expect(ModelCatalog.lookUp("Systran/faster-whisper-small")?.folderName == "Systran--faster-whisper-small")
        for bad in ["", "huge", "../x", "a/b/c", "a/..", "/abs", "a//b", "own er/x"] {
            #expect(ModelCatalog.lookUp(bad) == nil, "\(bad) should not be a model name")
        }
        #expect(ModelCatalog.names.count == 19)
    }

    @Test func theEnvironmentFollowsHuggingFaceHubConventions() {
        let env = HubEnvironment.from(["HF_ENDPOINT": "http://mirror.local:8080/", "HF_HUB_OFFLINE": "True",
                                       "HUGGING_FACE_HUB_TOKEN": "old", "HF_TOKEN": "new"])
        #expect(env.endpoint == "http://mirror.local:8080")
        #expect(env.offline)
        #expect(env.token == "new")
        #expect(HubEnvironment.from([:]) == HubEnvironment())
        #expect(!HubEnvironment.from(["HF_HUB_OFFLINE": "0"]).offline)
        #expect(env.listingURL(repository: "o/n") == "http://mirror.local:8080/api/models/o/n/revision/main?blobs=true")
        #expect(env.fileURL(repository: "o/n", commit: "c0ffee", file: "model.bin")
                == "http://mirror.local:8080/o/n/resolve/c0ffee/model.bin")
    }

    @Test func aListingKeepsOnlyTheModelFilesAndRefusesWhatItCannotCheck() throws {
        let sha = String(repeating: "a", count: 40)
        func listing(_ siblings: String) -> Data {
            Data(#"{"sha": "\#(sha)", "siblings": [\#(siblings)]}"#.utf8)
        }
        let good = #"""
            {"rfilename": "config.json", "size": 10, "blobId": "\#(sha)"},
            {"rfilename": "model.bin", "size": 5, "lfs": {"sha256": "\#(String(repeating: "b", count: 64))", "size": 99}},
            {"rfilename": "vocabulary.json", "size": 3, "blobId": "\#(sha)"},
            {"rfilename": "README.md", "size": 3, "blobId": "\#(sha)"},
            {"rfilename": "../model.bin", "size": 3, "blobId": "\#(sha)"},
            {"rfilename": "sub/config.json", "size": 3, "blobId": "\#(sha)"}
            """#
        let parsed = try HubListing.parse(listing(good), repository: "o/n")
        #expect(parsed.commit == sha)
        #expect(Set(parsed.files.map(\.name)) == ["config.json", "model.bin", "vocabulary.json"])
        #expect(parsed.files.first { $0.name == "model.bin" }?.size == 99)

        let noModel = #"{"rfilename": "config.json", "size": 10, "blobId": "\#(sha)"}"#
        #expect(throws: ModelStoreError.notAModelRepository(repository: "o/n", commit: sha)) {
            try HubListing.parse(listing(noModel), repository: "o/n")
        }
        let badHash = good.replacingOccurrences(of: String(repeating: "b", count: 64), with: "zz")
        let error = #expect(throws: ModelStoreError.self) { try HubListing.parse(listing(badHash), repository: "o/n") }
        #expect(error?.description.contains("model.bin has a malformed sha256") == true)
        #expect(throws: ModelStoreError.self) { try HubListing.parse(Data("<html>".utf8), repository: "o/n") }
        #expect(throws: ModelStoreError.self) { try HubListing.parse(Data(#"{"siblings": []}"#.utf8), repository: "o/n") }
    }

    @Test func aModelValueIsAFolderOrAnInstalledNameOrAnErrorThatSaysWhatToDo() throws {
        let models = NSTemporaryDirectory() + "resolve-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: models) }
        try FileManager.default.createDirectory(atPath: models + "/large-v3", withIntermediateDirectories: true)
        #expect(try InstalledModels.resolve(models + "/large-v3", modelsDirectory: "/nonexistent") == models + "/large-v3")
        let missing = #expect(throws: ModelStoreError.self) { try InstalledModels.resolve("large", modelsDirectory: models) }
        #expect(missing?.description.contains("dropscribe models fetch large") == true)
        for file in ["config.json", "model.bin"] {
            #expect(FileManager.default.createFile(atPath: models + "/large-v3/" + file, contents: Data()))
        }
        #expect(try InstalledModels.resolve("large", modelsDirectory: models) == models + "/large-v3")
        #expect(throws: ModelStoreError.unknownName("huge")) { try InstalledModels.resolve("huge", modelsDirectory: models) }
        #expect(throws: ModelStoreError.self) { try InstalledModels.resolve("./nowhere", modelsDirectory: models) }
    }
}
