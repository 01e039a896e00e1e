import Foundation
import SystemPackage

/// Downloads a model from the Hugging Face Hub into the models directory, resumably and verified.
///
/// Exists for `dropscribe models fetch NAME`: the same files faster-whisper's `download_model` takes
/// (config, preprocessor config, model.bin, tokenizer, vocabulary), each streamed to `FILE.incomplete`
/// beside its final place, continued with a `Range` request after an interruption, checked against the
/// size and hash the Hub lists, and only then renamed into place; a file that fails its hash is deleted
/// and never installed. `fetch-manifest.json` records the repository, commit and files, so a second
/// fetch of the same commit checks sizes only and downloads nothing.
public struct ModelFetcher: Sendable {
    /// A step of a fetch, for the progress lines the CLI prints.
    public enum Progress: Sendable {
        case listing(repository: String)
        case upToDate(file: String)
        case downloading(file: String, resumingAt: Int, size: Int)
        case received(file: String, bytes: Int, size: Int)
        case installed(file: String, size: Int)
    }

    public static let manifestName = "fetch-manifest.json"

    public let environment: HubEnvironment
    public let modelsDirectory: String

    public init(environment: HubEnvironment, modelsDirectory: String) {
        self.environment = environment
        self.modelsDirectory = modelsDirectory
    }

    /// Fetches `name` (or finds it already complete) and returns its folder.
    public func fetch(_ name: ModelName, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws(ModelStoreError) -> String {
        let folder = FilePath(modelsDirectory).appending(name.folderName)
        if environment.offline {
            guard InstalledModels.isComplete(folder.string) else {
                throw .offline(name: name.requested, folder: folder.string)
            }
            return folder.string
        }
        progress(.listing(repository: name.repository))
        let listingURL = environment.listingURL(repository: name.repository)
        let reply = try await HTTPTransfer(url: listingURL, token: environment.token).run(into: .memory(limit: 16 << 20))
        guard reply.status == 200 else { throw .http(url: listingURL, status: reply.status) }
        let listing = try HubListing.parse(reply.body, repository: name.repository)

        try makeDirectory(folder)
        let previous = FetchManifest.read(folder.appending(Self.manifestName))
        for file in listing.files {
            try await install(file, of: name.repository, listing: listing, into: folder, previous: previous, progress: progress)
        }
        try FetchManifest(repository: name.repository, commit: listing.commit, files: listing.files)
            .write(folder.appending(Self.manifestName))
        return folder.string
    }

    private func install(_ file: HubFile, of repository: String, listing: HubListing, into folder: FilePath,
                         previous: FetchManifest?, progress: @escaping @Sendable (Progress) -> Void) async throws(ModelStoreError) {
        let final = folder.appending(file.name)
        if fileSize(final) == file.size {
            let recorded = previous?.files.first { $0.name == file.name }
            var trusted = recorded == FetchManifest.Entry(file)
            if !trusted { trusted = try FileDigest.matches(final, file.digest, size: file.size).0 }
            if trusted {
                progress(.upToDate(file: file.name))
                return
            }
        }
        let partial = folder.appending(file.name + ".incomplete")
        var have = fileSize(partial) ?? 0
        if have > file.size { have = 0 }
        if have < file.size {
            progress(.downloading(file: file.name, resumingAt: have, size: file.size))
            let url = environment.fileURL(repository: repository, commit: listing.commit, file: file.name)
            var transfer = HTTPTransfer(url: url, token: environment.token)
            transfer.onProgress = { [name = file.name, size = file.size] bytes in progress(.received(file: name, bytes: bytes, size: size)) }
            let reply = try await transfer.run(into: .file(partial, resumeFrom: have))
            guard reply.status == 200 || reply.status == 206 else { throw .http(url: url, status: reply.status) }
            guard reply.fileSize == file.size else {
                throw .sizeMismatch(file: partial.string, expected: file.size, got: reply.fileSize)
            }
        }
        let (ok, actual) = try FileDigest.matches(partial, file.digest, size: file.size)
        guard ok else {
            unlink(partial.string)
            let expected: String = switch file.digest { case .sha256(let h), .gitBlob(let h): h }
            throw .digestMismatch(file: final.string, expected: expected, got: actual)
        }
        guard rename(partial.string, final.string) == 0 else {
            throw .io(path: final.string, problem: "cannot move the verified download into place: \(Errno(rawValue: errno))")
        }
        progress(.installed(file: file.name, size: file.size))
    }

    private func makeDirectory(_ folder: FilePath) throws(ModelStoreError) {
        do {
            try FileManager.default.createDirectory(atPath: folder.string, withIntermediateDirectories: true)
        } catch {
            throw .io(path: folder.string, problem: "cannot create the model folder: \(error.localizedDescription)")
        }
    }

    private func fileSize(_ path: FilePath) -> Int? {
        var st = stat()
        guard lstat(path.string, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }
}
