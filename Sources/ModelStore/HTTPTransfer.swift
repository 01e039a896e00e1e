import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import SystemPackage

/// One HTTP GET whose body is streamed into a file (appending to a partial one) or collected in memory.
///
/// Exists because a model file is up to gigabytes: it must reach the disk as it arrives, never sit in
/// memory, and a transfer cut off half-way must leave its bytes on disk for the next fetch to continue
/// with a `Range` request. URLSession (libcurl underneath) does the protocol, TLS, redirects and
/// proxies; this type only decides where the bytes go.
struct HTTPTransfer {
    enum Sink {
        /// Collect up to this many bytes in memory.
        case memory(limit: Int)
        /// Write to this file; if it already holds `resumeFrom` bytes, ask for the rest only.
        case file(FilePath, resumeFrom: Int)
    }

    struct Outcome {
        var status: Int
        var body: Data
        /// Bytes in the file after the transfer (partial content included).
        var fileSize: Int
    }

    let url: String
    let token: String?
    /// Called with the file's size after each chunk written (never for a memory sink).
    var onProgress: @Sendable (Int) -> Void = { _ in }

    func run(into sink: Sink) async throws(ModelStoreError) -> Outcome {
        guard let target = URL(string: url) else { throw .network(url: url, problem: "not a valid URL") }
        var request = URLRequest(url: target, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 60)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.setValue("dropscribe", forHTTPHeaderField: "User-Agent")
        if case .file(_, let offset) = sink, offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }

        let receiver = StreamingReceiver(url: url, sink: sink, onProgress: onProgress)
        let session = URLSession(configuration: .ephemeral, delegate: receiver, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Outcome, ModelStoreError>, Never>) in
            receiver.start(continuation)
            session.dataTask(with: request).resume()
        }
        return try result.get()
    }
}

/// URLSession's delegate for one transfer: opens the file when the status is known, appends each
/// chunk, and reports once when the task ends.
private final class StreamingReceiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<HTTPTransfer.Outcome, ModelStoreError>, Never>?
        var outcome = HTTPTransfer.Outcome(status: 0, body: Data(), fileSize: 0)
        var file: FileDescriptor?
        var failure: ModelStoreError?
    }

    private let url: String
    private let sink: HTTPTransfer.Sink
    private let state = Mutex(State())
    private let onProgress: @Sendable (Int) -> Void

    init(url: String, sink: HTTPTransfer.Sink, onProgress: @escaping @Sendable (Int) -> Void) {
        self.url = url
        self.sink = sink
        self.onProgress = onProgress
    }

    func start(_ continuation: CheckedContinuation<Result<HTTPTransfer.Outcome, ModelStoreError>, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let keepGoing = state.withLock { s -> Bool in
            s.outcome.status = status
            guard case .file(let path, let offset) = sink, status == 200 || status == 206 else { return status == 200 }
            do {
                // 206 continues the partial file; 200 (the server ignored Range) starts it again.
                let append = status == 206 && offset > 0
                let fd = try FileDescriptor.open(path, .writeOnly, options: append ? [.create, .append] : [.create, .truncate],
                                                 permissions: [.ownerReadWrite, .groupRead, .otherRead])
                s.file = fd
                s.outcome.fileSize = append ? offset : 0
                return true
            } catch {
                s.failure = .io(path: path.string, problem: "cannot open for writing: \(error)")
                return false
            }
        }
        completionHandler(keepGoing ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        var written: Int?
        let cancel = state.withLock { s -> Bool in
            guard s.failure == nil else { return true }
            if let fd = s.file {
                do {
                    _ = try fd.writeAll(data)
                    s.outcome.fileSize += data.count
                    written = s.outcome.fileSize
                } catch {
                    if case .file(let path, _) = sink { s.failure = .io(path: path.string, problem: "write failed: \(error)") }
                    return true
                }
            } else if case .memory(let limit) = sink {
                guard s.outcome.body.count + data.count <= limit else {
                    s.failure = .network(url: url, problem: "response larger than \(limit) bytes")
                    return true
                }
                s.outcome.body.append(data)
            }
            return false
        }
        if let written { onProgress(written) }
        if cancel { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let (continuation, result) = state.withLock { s -> (CheckedContinuation<Result<HTTPTransfer.Outcome, ModelStoreError>, Never>?, Result<HTTPTransfer.Outcome, ModelStoreError>) in
            if let fd = s.file { try? fd.close() }
            s.file = nil
            let result: Result<HTTPTransfer.Outcome, ModelStoreError>
            if let failure = s.failure {
                result = .failure(failure)
            } else if let error, s.outcome.status == 0 || (s.outcome.status >= 200 && s.outcome.status < 300) {
                result = .failure(.network(url: url, problem: (error as NSError).localizedDescription))
            } else {
                result = .success(s.outcome)
            }
            let c = s.continuation
            s.continuation = nil
            return (c, result)
        }
        continuation?.resume(returning: result)
    }
}
