import Foundation
import Glibc
import Logging
import Subprocess
import Synchronization
import SystemPackage

/// Runs the `on_done` / `on_failed` commands when jobs end: at most
/// `hook_concurrency` at once, each in its own process group, killed (the whole
/// group) after `hook_timeout_seconds`.
///
/// It exists so that a hook is a bystander: it runs after the job's markers are
/// written, in the daemon's task group beside the claiming loop, and whatever it
/// does (fail, hang, crash) is logged and changes neither the job's state nor when
/// the next job is claimed. No shell: the command is an argument list.
final class HookRunner: Sendable {
    private struct Gate {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    let logger: Logger
    private let gate = Mutex(Gate())
    /// Told the hooks running and waiting for a slot whenever either changes (for the metrics),
    /// under the gate's lock; it must not call back into this runner.
    private let gateChanged: @Sendable (_ running: Int, _ waiting: Int) -> Void

    init(logger: Logger, gateChanged: @escaping @Sendable (_ running: Int, _ waiting: Int) -> Void = { _, _ in }) {
        self.logger = logger
        self.gateChanged = gateChanged
    }

    /// How a hook ended.
    enum Ending: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
        case notStarted(String)

        var description: String {
            switch self {
            case .exited(let code): "exit \(code)"
            case .signaled(let sig): "killed by signal \(sig)"
            case .timedOut: "timed out (its process group was killed)"
            case .notStarted(let why): "could not be started: \(why)"
            }
        }
    }

    /// Runs `command` for `event`, waiting for a free slot first. Never throws: every
    /// outcome is logged.
    func run(_ command: [String], event: HookEvent, settings: JobEndSettings, workingDirectory: FilePath) async {
        guard !command.isEmpty else { return }
        await acquire(limit: settings.hookConcurrency)
        defer { release() }
        let (ending, output) = await execute(command, event: event, timeout: settings.hookTimeoutSeconds, workingDirectory: workingDirectory)
        var meta: Logger.Metadata = ["job.id": "\(event.job)", "hook": "\(event.state == "done" ? "on_done" : "on_failed")",
                                     "hook.result": "\(ending)"]
        if !output.isEmpty { meta["hook.output"] = "\(output)" }
        if ending == .exited(0) {
            logger.info("hook finished", metadata: meta)
        } else {
            logger.warning("hook failed (the job's state is unchanged)", metadata: meta)
        }
    }

    /// Lines of the hook's combined stdout and stderr kept for the log.
    static let outputLines = 5

    func execute(_ command: [String], event: HookEvent, timeout: Double, workingDirectory: FilePath) async -> (Ending, String) {
        let input: FileDescriptor, output: FileDescriptor
        do {
            input = try Self.anonymousFile(event.json)
            output = try Self.anonymousFile([])
        } catch {
            return (.notStarted("no temp file for its input or output: \(error)"), "")
        }
        defer { try? input.close(); try? output.close() }
        let program = command[0]
        let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
        var platform = PlatformOptions()
        platform.processGroupID = 0  // its own group, so a timeout kills what it started too
        let options = platform
        let process = Tracked()
        let ending: Ending = await withTaskGroup(of: Ending?.self) { tasks in
            tasks.addTask {
                do {
                    let result = try await Subprocess.run(
                        executable, arguments: Arguments(Array(command.dropFirst())),
                        environment: .inherit.updating(Dictionary(uniqueKeysWithValues: event.environment.map { (.init(stringLiteral: $0.key), $0.value) })),
                        workingDirectory: workingDirectory, platformOptions: options,
                        input: .fileDescriptor(input, closeAfterSpawningProcess: false),
                        output: .fileDescriptor(output, closeAfterSpawningProcess: false), error: .combinedWithOutput
                    ) { execution in process.group.withLock { $0 = execution.processIdentifier.value } }
                    process.finished.withLock { $0 = true }
                    switch result.terminationStatus {
                    case .exited(let code): return .exited(code)
                    case .signaled(let sig): return .signaled(sig)
                    }
                } catch {
                    process.finished.withLock { $0 = true }
                    return .notStarted("\(error)")
                }
            }
            tasks.addTask {
                try? await Task.sleep(for: .seconds(timeout))
                if Task.isCancelled || process.finished.withLock({ $0 }) { return nil }
                if let pgid = process.group.withLock({ $0 }) { kill(-pgid, SIGKILL) }
                return .timedOut
            }
            var first: Ending?
            var result: Ending?
            while let next = await tasks.next() {
                if first == nil, let next { first = next }
                if let next, next != .timedOut { result = next }
                if result != nil { tasks.cancelAll() }
            }
            return first == .timedOut ? .timedOut : (result ?? .timedOut)
        }
        return (ending, Self.firstLines(of: output))
    }

    /// The hook's process group (its pid: it leads its own group) and whether it has ended.
    private final class Tracked: Sendable {
        let group = Mutex<pid_t?>(nil)
        let finished = Mutex(false)
    }

    /// An unlinked temp file holding `bytes`, positioned at its start.
    static func anonymousFile(_ bytes: [UInt8]) throws -> FileDescriptor {
        let path = FilePath(NSTemporaryDirectory()).appending("dropscribe-hook-\(getpid())-\(UUID().uuidString)")
        let fd = try FileDescriptor.open(path, .readWrite, options: [.create, .exclusiveCreate, .closeOnExec, .noFollow],
                                         permissions: .ownerReadWrite)
        _ = path.withPlatformString { unlink($0) }
        do {
            _ = try fd.writeAll(bytes)
            _ = try fd.seek(offset: 0, from: FileDescriptor.SeekOrigin.start)
        } catch {
            try? fd.close()
            throw error
        }
        return fd
    }

    static func firstLines(of file: FileDescriptor) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = (try? buffer.withUnsafeMutableBytes { try file.read(fromAbsoluteOffset: 0, into: $0) }) ?? 0
        let text = String(decoding: buffer.prefix(count), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).prefix(outputLines).joined(separator: "\n")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func acquire(limit: Int) async {
        await withCheckedContinuation { (slot: CheckedContinuation<Void, Never>) in
            let now = gate.withLock { g -> Bool in
                let now = g.running < limit
                if now { g.running += 1 } else { g.waiting.append(slot) }
                gateChanged(g.running, g.waiting.count)  // under the lock: reported in the order of the changes
                return now
            }
            if now { slot.resume() }
        }
    }

    /// Hands the slot to the longest waiter, or frees it.
    private func release() {
        let next = gate.withLock { g -> CheckedContinuation<Void, Never>? in
            let next = g.waiting.isEmpty ? nil : g.waiting.removeFirst()
            if next == nil { g.running -= 1 }
            gateChanged(g.running, g.waiting.count)
            return next
        }
        next?.resume()
    }
}
