import Foundation
import Whisper

/// The settings that decide which model a worker has loaded: two jobs with equal
/// settings can share a loaded model, others cannot.
///
/// It exists so that the daemon (choosing a worker for a job) and the worker
/// (deciding whether to reload) compare the same thing.
public struct ModelSettings: Hashable, Sendable, Codable {
    public var folder: String
    public var computeType: String
    public var threads: Int

    public init(folder: String, computeType: String, threads: Int) {
        (self.folder, self.computeType, self.threads) = (folder, computeType, threads)
    }

    /// The model settings of a job's configuration (its rule already applied).
    public init(_ config: Configuration) {
        self.init(folder: (try? config.modelFolder()) ?? config.resolve(config.model.path),
                  computeType: config.model.computeType.rawValue, threads: config.effectiveThreads)
    }
}

extension Configuration {
    /// BLAS threads of one worker: `threads_per_worker`, or the cores shared among the workers.
    public var effectiveThreads: Int {
        threadsPerWorker > 0 ? threadsPerWorker : max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, workers))
    }
}

/// Which worker of the pool takes a job, and when a worker is replaced.
///
/// Pure functions, so the pool's choices are unit-tested without processes.
enum WorkerPoolPolicy {
    /// An idle worker, as the policy sees it.
    struct Idle: Equatable {
        var id: Int
        var model: ModelSettings?
    }

    enum Choice: Equatable {
        /// Give the job to this idle worker (it reloads when its model differs).
        case reuse(Int)
        /// Start a new worker.
        case spawn
    }

    /// An idle worker that has the model loaded; else a new worker while the pool has room
    /// (so each model in use keeps its own worker), unless memory is short: then an idle
    /// worker reloads in place, freeing its model first.
    static func choose(idle: [Idle], total: Int, capacity: Int, want: ModelSettings, memoryShort: Bool) -> Choice {
        if let same = idle.first(where: { $0.model == want }) { return .reuse(same.id) }
        if let other = idle.first, memoryShort || total >= capacity { return .reuse(other.id) }
        return .spawn
    }

    /// Why a worker that just finished a job is retired (nil: it stays in the pool).
    enum Retirement: Equatable {
        case maxJobs
        case memoryGrown
        case poolShrunk
    }

    /// How far a worker's resident memory may grow past its model's expected footprint
    /// (`MemoryAdmission.estimatedJobBytes`) before it is replaced: 50 % of it.
    static let rssMarginFraction = 0.5

    static func retirement(jobsServed: Int, maxJobs: Int, rssBytes: Int64?, expectedBytes: Int64,
                           total: Int, capacity: Int) -> Retirement? {
        if jobsServed >= maxJobs { return .maxJobs }
        if let rss = rssBytes, Double(rss) > Double(expectedBytes) * (1 + rssMarginFraction) { return .memoryGrown }
        if total > capacity { return .poolShrunk }
        return nil
    }
}
