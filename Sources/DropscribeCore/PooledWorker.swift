import Foundation
import Glibc
import Logging
import Subprocess
import Synchronization
import SystemPackage

/// How a job given to a pooled worker ended.
enum WorkerJobEnd: Sendable {
    case reported(WorkerOutcome)
    /// The worker ended without answering (status nil: it could not be started);
    /// `oomKills`: its memory cgroup's OOM kill count when it ended.
    case died(TerminationStatus?, oomKills: Int?)
}

/// One `dropscribe worker --serve` child of the pool: a request line per job on its
/// standard input, an outcome line per job on its standard output.
///
/// It exists to keep one process (and its loaded model) across jobs while each job
/// still learns exactly how it ended, answer or death.
final class PooledWorker: Sendable {
    struct Waiting {
        var done: CheckedContinuation<WorkerJobEnd?, Never>
        var started: @Sendable (Int32) -> Void
        var output: @Sendable (String) -> Void
    }

    struct State {
        var pid: Int32 = 0
        var ended = false
        var status: TerminationStatus?
        var oomKills: Int?
        var waiting: Waiting?
        var busy = true
        var jobsServed = 0
        var model: ModelSettings
    }

    let id: Int
    /// Its own memory cgroup (`worker_memory_limit_mb`), if any.
    let cgroup: MemoryCgroup?
    /// Where an OOM kill of this worker is counted: its own cgroup, else the daemon's.
    let oomCounter: MemoryCgroup?
    let state: Mutex<State>
    private let requests: AsyncStream<String>
    private let requestSink: AsyncStream<String>.Continuation

    init(id: Int, model: ModelSettings, cgroup: MemoryCgroup?, oomCounter: MemoryCgroup?) {
        self.id = id
        self.cgroup = cgroup
        self.oomCounter = oomCounter
        state = Mutex(State(model: model))
        (requests, requestSink) = AsyncStream<String>.makeStream()
    }

    /// Runs the process until it exits; `ended` is called after the job it ran (if any) was told.
    func start(executable: String, arguments: [String], logger: Logger, ended: @escaping @Sendable (PooledWorker) -> Void) -> Task<Void, Never> {
        Task {
            var status: TerminationStatus?
            do {
                let result = try await Subprocess.run(
                    .path(FilePath(executable)), arguments: Arguments(arguments), environment: .inherit,
                    input: .inputWriter, output: .sequence, error: .currentStandardError
                ) { execution in
                    let pid = execution.processIdentifier.value
                    let waiting = self.state.withLock { s in s.pid = pid; return s.waiting }
                    waiting?.started(pid)
                    let writer = execution.standardInputWriter
                    await withTaskGroup(of: Bool.self) { group in
                        group.addTask {
                            do {
                                for await line in self.requests { _ = try await writer.write(line) }
                                try await writer.finish()
                            } catch {}
                            return false
                        }
                        group.addTask {
                            var buffer: [UInt8] = []
                            do {
                                for try await chunk in execution.standardOutput {
                                    chunk.withUnsafeBytes { buffer.append(contentsOf: $0) }
                                    while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                                        self.deliver(String(decoding: buffer[..<newline], as: UTF8.self))
                                        buffer.removeSubrange(...newline)
                                    }
                                }
                            } catch {}
                            if !buffer.isEmpty { self.deliver(String(decoding: buffer, as: UTF8.self)) }
                            return true
                        }
                        // Its output ended: the process is gone, stop waiting for requests to write.
                        while let readerDone = await group.next() {
                            if readerDone { break }
                        }
                        group.cancelAll()
                    }
                }
                status = result.terminationStatus
            } catch {
                logger.error("cannot start a worker", metadata: ["error": "\(error)"])
            }
            let oom = oomCounter?.oomKills()
            cgroup?.remove()
            let waiting = state.withLock { s -> Waiting? in
                s.ended = true
                s.status = status
                s.oomKills = oom
                defer { s.waiting = nil }
                return s.waiting
            }
            waiting?.done.resume(returning: .died(status, oomKills: oom))
            ended(self)
        }
    }

    /// One line of the worker's output: a progress line for the job's deadline, or its outcome.
    private func deliver(_ line: String) {
        if line.hasPrefix(#"{"audio_seconds""#) {
            let output = state.withLock { $0.waiting?.output }
            output?(line + "\n")
            return
        }
        guard let outcome = try? JSONDecoder().decode(WorkerOutcome.self, from: Data(line.utf8)) else { return }
        let waiting = state.withLock { s -> Waiting? in defer { s.waiting = nil }; return s.waiting }
        waiting?.done.resume(returning: .reported(outcome))
    }

    /// Gives the worker one job and waits for how it ended; nil when the worker had
    /// already ended before it got the job (the caller takes another worker).
    func run(_ request: WorkerRequest, started: @escaping @Sendable (Int32) -> Void,
             output: @escaping @Sendable (String) -> Void) async -> WorkerJobEnd? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(request) else { return nil }
        let line = String(decoding: data, as: UTF8.self) + "\n"
        return await withCheckedContinuation { continuation in
            let (ended, pid) = state.withLock { s -> (Bool, Int32) in
                if !s.ended { s.waiting = Waiting(done: continuation, started: started, output: output) }
                return (s.ended, s.pid)
            }
            if ended { return continuation.resume(returning: nil) }
            if pid > 0 { started(pid) }
            requestSink.yield(line)
        }
    }

    /// No more jobs: its input is closed once the current job's request is written, so it exits.
    func retire() { requestSink.finish() }
}
