import Foundation
@testable import ModelStore
import Testing

/// Fetching a model by name from a server laid out as the Hugging Face Hub, offline: resuming an
/// interrupted download, refusing corrupted bytes, and what happens with no network at all.
@Suite struct ModelFetchTests {
    static var modelsSource: String {
        ProcessInfo.processInfo.environment["DROPSCRIBE_MODELS"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/models"
    }

    func temporaryModelsDirectory() -> String {
        let path = NSTemporaryDirectory() + "models-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func anInterruptedDownloadResumesWhereItStoppedAndInstallsTheModelByteForByte() async throws {
        let hub = try HubFixture.tinyEn(from: Self.modelsSource)
        let files = hub.files
        defer { hub.remove() }
        let server = try HubFolderServer(root: hub.root)
        defer { server.stop() }
        let models = temporaryModelsDirectory()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let fetcher = ModelFetcher(environment: HubEnvironment(endpoint: server.endpoint), modelsDirectory: models)
        let name = try #require(ModelCatalog.lookUp("tiny.en"))

        server.cutOnce(path: hub.filePath("model.bin"), after: 20 << 20)
        await #expect(throws: ModelStoreError.self) { _ = try await fetcher.fetch(name) }
        let folder = models + "/tiny.en"
        #expect(!FileManager.default.fileExists(atPath: folder + "/model.bin"))
        let partial = try FileManager.default.attributesOfItem(atPath: folder + "/model.bin.incomplete")[.size] as? Int
        #expect(partial == 20 << 20)

        let installed = try await fetcher.fetch(name)
        #expect(installed == folder)
        let modelRequests = server.requests.filter { $0.path == hub.filePath("model.bin") }
        #expect(modelRequests.map(\.range) == [nil, "bytes=\(20 << 20)-"])
        for (file, data) in files {
            #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)) == data, "\(file) differs")
        }
        #expect(!FileManager.default.fileExists(atPath: folder + "/model.bin.incomplete"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/README.md"))
        #expect(try InstalledModels.resolve("tiny.en", modelsDirectory: models) == folder)

        // A second fetch of the same commit lists the repository and downloads nothing.
        let before = server.requests.count
        _ = try await fetcher.fetch(name)
        #expect(server.requests.dropFirst(before).map(\.path) == ["/api/models/Systran/faster-whisper-tiny.en/revision/main"])
    }

    @Test func aFileWhoseBytesDoNotMatchTheListedHashIsRefusedAndNeverInstalled() async throws {
        let files = HubFixture.smallModel()
        var corrupted = files["model.bin"]!
        corrupted[1000] ^= 0x40
        let hub = try HubFixture(repository: "mobiuslabsgmbh/faster-whisper-large-v3-turbo", files: files,
                                 served: ["model.bin": corrupted])
        defer { hub.remove() }
        let server = try HubFolderServer(root: hub.root)
        defer { server.stop() }
        let models = temporaryModelsDirectory()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let fetcher = ModelFetcher(environment: HubEnvironment(endpoint: server.endpoint), modelsDirectory: models)

        let error = await #expect(throws: ModelStoreError.self) {
            _ = try await fetcher.fetch(#require(ModelCatalog.lookUp("turbo")))
        }
        let folder = models + "/large-v3-turbo"
        guard case .digestMismatch(let file, let expected, _) = error else {
            Issue.record("expected a hash mismatch, got \(String(describing: error))")
            return
        }
        #expect(file == folder + "/model.bin")
        #expect(expected == HubFixture.sha256(files["model.bin"]!))
        #expect(error?.description.contains("model.bin") == true)
        #expect(!FileManager.default.fileExists(atPath: folder + "/model.bin"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/model.bin.incomplete"))
        #expect(throws: ModelStoreError.notInstalled(name: "turbo", folder: models)) {
            try InstalledModels.resolve("turbo", modelsDirectory: models)
        }
    }

    @Test func offlineAnInstalledModelIsUsedAndAMissingOneIsNamedWithoutTouchingTheNetwork() async throws {
        let hub = try HubFixture(repository: "Systran/faster-whisper-small", files: HubFixture.smallModel())
        defer { hub.remove() }
        let server = try HubFolderServer(root: hub.root)
        defer { server.stop() }
        let models = temporaryModelsDirectory()
        defer { try? FileManager.default.removeItem(atPath: models) }
        let small = try #require(ModelCatalog.lookUp("small"))

        let offline = ModelFetcher(environment: HubEnvironment(endpoint: server.endpoint, offline: true), modelsDirectory: models)
        await #expect(throws: ModelStoreError.offline(name: "small", folder: models + "/small")) {
            _ = try await offline.fetch(small)
        }
        _ = try await ModelFetcher(environment: HubEnvironment(endpoint: server.endpoint), modelsDirectory: models).fetch(small)
        let online = server.requests.count
        #expect(try await offline.fetch(small) == models + "/small")
        #expect(server.requests.count == online)
        let listed = InstalledModels.list(models)
        #expect(listed.map(\.folderName) == ["small"])
        #expect(listed.first?.languages == 2)
        #expect(listed.first?.source == "Systran/faster-whisper-small@\(HubFixture.commit.prefix(12))")
    }

    @Test func aRepositoryTheServerDoesNotHaveIsAnHTTPErrorNamingTheURL() async throws {
        let hub = try HubFixture(repository: "Systran/faster-whisper-small", files: HubFixture.smallModel())
        defer { hub.remove() }
        let server = try HubFolderServer(root: hub.root)
        defer { server.stop() }
        let fetcher = ModelFetcher(environment: HubEnvironment(endpoint: server.endpoint), modelsDirectory: temporaryModelsDirectory())
        let error = await #expect(throws: ModelStoreError.self) {
            _ = try await fetcher.fetch(#require(ModelCatalog.lookUp("medium.en")))
        }
        #expect(error?.description.contains("faster-whisper-medium.en") == true)
        #expect(error?.description.contains("HTTP 404") == true)
    }
}
