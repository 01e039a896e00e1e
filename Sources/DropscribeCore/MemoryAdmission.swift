import Foundation
import Logging
import Synchronization

/// Whether the machine has room for one more job.
///
/// It exists so that a job is only started when the memory for it is there;
/// otherwise the daemon waits (and says so, once a minute) rather than letting
/// the kernel's OOM killer pick a victim.
final class MemoryAdmission: Sendable {
    let logger: Logger
    private let lastWarning = Mutex<Double>(0)

    init(logger: Logger) {
        self.logger = logger
    }

    /// What one job needs: the model's weights widened to float32 plus one
    /// window's working set (features, encoder activations, caches).
    static func estimatedJobBytes(modelDirectory: String) -> Int64 {
        let modelFile = (try? FileManager.default.attributesOfItem(atPath: modelDirectory + "/model.bin")[.size] as? Int) ?? 0
        return Int64(modelFile) * 2 + 256 << 20
    }

    /// The kernel's estimate of memory available without swapping (MemAvailable).
    static func availableMemoryBytes() -> Int64? {
        // Lets the tests simulate a machine short of memory.
        if let mb = ProcessInfo.processInfo.environment["DROPSCRIBE_MEMAVAILABLE_MB"].flatMap({ Int64($0) }) { return mb << 20 }
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int64($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    func allowsAnotherJob(config: Configuration, now: Double) -> Bool {
        guard let available = Self.availableMemoryBytes() else { return true }
        let needed = Self.estimatedJobBytes(modelDirectory: (try? config.modelFolder()) ?? config.resolve(config.model.path))
        if available >= needed { return true }
        let shouldLog = lastWarning.withLock { last -> Bool in
            if now - last < 60 { return false }
            last = now
            return true
        }
        if shouldLog {
            logger.warning("not starting a job: too little memory available", metadata: [
                "available.mb": "\(available >> 20)", "needed.mb": "\(needed >> 20)"])
        }
        return false
    }
}
