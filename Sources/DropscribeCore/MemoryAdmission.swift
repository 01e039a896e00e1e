import Foundation
import Logging
import Synchronization
import Whisper

/// Whether the machine has room for one more job.
///
/// It exists so that a job is only started when the memory for it is there;
/// otherwise the daemon waits (and says so, once a minute) rather than letting
/// the kernel's OOM killer pick a victim.
final class MemoryAdmission: Sendable {
    let logger: Logger
    private let lastWarning = Mutex<Double>(0)
    private let estimates = Mutex<[EstimateKey: Int64]>([:])

    init(logger: Logger) {
        self.logger = logger
    }

    /// What one job needs: the model's weights in the form its compute type keeps them,
    /// plus the working set of its beam, batch and prompt texts (`MemoryFootprint`, from
    /// model.bin's header; batched decoding never carries earlier windows' text). A folder
    /// whose model.bin cannot be read as a model counts as twice its size plus 256 MiB
    /// (the estimate from when every weight was widened to float32); a missing one as the
    /// 256 MiB alone: its job fails at load, using little.
    static func estimatedJobBytes(config: Configuration) -> Int64 {
        let folder = ModelSettings(config).folder
        let batched = config.vad.batchSize > 1
        if let footprint = try? MemoryFootprint.estimate(directory: folder, computeType: config.model.computeType,
                                                         beamSize: config.model.beamSize, pieces: config.vad.batchSize,
                                                         previousText: !batched && config.model.conditionOnPreviousText,
                                                         promptTextBytes: promptTextBytes(config)) {
            return footprint.totalBytes
        }
        let modelFile = (try? FileManager.default.attributesOfItem(atPath: folder + "/model.bin")[.size] as? Int) ?? 0
        return Int64(modelFile) * 2 + 256 << 20
    }

    /// What makes two configurations' estimates equal: the model file (by size and change
    /// time, so a model replaced in place is read again) and the settings the estimate uses.
    struct EstimateKey: Hashable {
        var folder: String
        var size: Int64
        var changed: Double
        var computeType: String
        var beamSize: Int
        var batchSize: Int
        var conditionOnPreviousText: Bool
        var promptTextBytes: Int
    }

    /// The UTF-8 length of the texts every window's prompt may hold: the initial prompt and the hotwords.
    static func promptTextBytes(_ config: Configuration) -> Int {
        config.model.initialPrompt.utf8.count + config.model.hotwords.utf8.count
    }

    /// `estimatedJobBytes`, remembered per model file and settings: a tick asks for every
    /// pending job while memory is short, and each answer would read model.bin's header.
    func cachedEstimate(config: Configuration) -> Int64 {
        let folder = ModelSettings(config).folder
        let attributes = try? FileManager.default.attributesOfItem(atPath: folder + "/model.bin")
        let key = EstimateKey(folder: folder, size: Int64((attributes?[.size] as? Int) ?? -1),
                              changed: (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0,
                              computeType: config.model.computeType.rawValue, beamSize: config.model.beamSize,
                              batchSize: config.vad.batchSize, conditionOnPreviousText: config.model.conditionOnPreviousText,
                              promptTextBytes: Self.promptTextBytes(config))
        if let known = estimates.withLock({ $0[key] }) { return known }
        let bytes = Self.estimatedJobBytes(config: config)
        estimates.withLock { cache in
            if cache.count >= 64 { cache.removeAll() }
            cache[key] = bytes
        }
        return bytes
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
        let needed = cachedEstimate(config: config)
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
