import Foundation
import Glibc
import Logging
import Synchronization

/// The daemon's worker processes: at most `workers` of them, each serving job after
/// job with its model loaded, replaced when one dies or is retired.
///
/// It exists so that the supervisor asks for "a worker for this job" and the choice
/// (an idle worker with the job's model first, see `WorkerPoolPolicy`), the spawning,
/// the per-worker memory cgroups and the recycling are in one place.
final class WorkerPool: Sendable {
    struct State {
        var workers: [Int: PooledWorker] = [:]
        var tasks: [Int: Task<Void, Never>] = [:]
        var nextID = 0
        var cgroupWarned = false
    }

    let command: WorkerCommand
    let inbox: String
    /// The daemon's memory cgroup: parent of the per-worker ones, and where an OOM kill is counted.
    let memoryCgroup: MemoryCgroup?
    /// The daemon's admission, whose remembered estimates say what a job's model takes.
    let admission: MemoryAdmission
    let logger: Logger
    private let state = Mutex(State())

    init(command: WorkerCommand, inbox: String, memoryCgroup: MemoryCgroup?, admission: MemoryAdmission, logger: Logger) {
        self.command = command
        self.inbox = inbox
        self.memoryCgroup = memoryCgroup
        self.admission = admission
        self.logger = logger
        // A worker that dies while a request is being written must not take the daemon with it.
        signal(SIGPIPE, SIG_IGN)
    }

    /// A worker for a job with this configuration, marked busy: an idle one, or a new one.
    func checkout(for config: Configuration) -> PooledWorker {
        let want = ModelSettings(config)
        let needed = admission.cachedEstimate(config: config)
        let memoryShort = (MemoryAdmission.availableMemoryBytes() ?? .max) < needed
        return state.withLock { s in
            let alive = s.workers.values.filter { w in w.state.withLock { !$0.ended } }
            let idle = alive.filter { w in w.state.withLock { !$0.busy } }.sorted { $0.id < $1.id }
                .map { w in WorkerPoolPolicy.Idle(id: w.id, model: w.state.withLock { $0.model }) }
            let choice = WorkerPoolPolicy.choose(idle: idle, total: alive.count, capacity: config.workers, want: want, memoryShort: memoryShort)
            if case .reuse(let id) = choice, let worker = s.workers[id] {
                worker.state.withLock { w in w.busy = true; w.model = want }
                return worker
            }
            return spawn(&s, model: want, config: config)
        }
    }

    private func spawn(_ s: inout State, model: ModelSettings, config: Configuration) -> PooledWorker {
        s.nextID += 1
        let cgroup = makeWorkerCgroup(&s, serial: s.nextID, config: config)
        let worker = PooledWorker(id: s.nextID, model: model, cgroup: cgroup, oomCounter: cgroup ?? memoryCgroup)
        // "--opt=value" form throughout, as elsewhere.
        var args = ["worker", "--serve"] + command.arguments + ["--inbox=\(inbox)", "--owner-pid=\(getpid())"]
        if let cgroup { args.append("--memory-cgroup=\(cgroup.directory)") }
        s.workers[worker.id] = worker
        s.tasks[worker.id] = worker.start(executable: command.executable, arguments: args, logger: logger) { [self] ended in
            state.withLock { s in _ = s.workers.removeValue(forKey: ended.id); _ = s.tasks.removeValue(forKey: ended.id) }
        }
        return worker
    }

    /// A worker whose job reported an outcome goes back to the pool, or is retired
    /// (`worker_max_jobs`, grown memory, a smaller pool, or `retire`).
    func checkin(_ worker: PooledWorker, outcome: WorkerOutcome, config: Configuration, retire: Bool) {
        let expected = admission.cachedEstimate(config: config)
        let reason = state.withLock { s -> WorkerPoolPolicy.Retirement? in
            let served = worker.state.withLock { w -> Int in w.jobsServed += 1; return w.jobsServed }
            let total = s.workers.count
            let reason = WorkerPoolPolicy.retirement(jobsServed: served, maxJobs: config.workerMaxJobs, rssBytes: outcome.workerRSSBytes,
                                                     expectedBytes: expected, total: total, capacity: config.workers)
            if reason != nil || retire {
                s.workers.removeValue(forKey: worker.id)
            } else {
                worker.state.withLock { $0.busy = false }
            }
            return reason ?? (retire ? .poolShrunk : nil)
        }
        guard let reason else { return }
        if reason == .memoryGrown {
            logger.notice("replacing a worker whose memory grew past its model's footprint",
                          metadata: ["worker.pid": "\(worker.state.withLock { $0.pid })", "rss.mb": "\((outcome.workerRSSBytes ?? 0) >> 20)"])
        }
        worker.retire()
    }

    /// Whether an idle worker has this job's model loaded (the job then needs no new memory).
    func hasIdleWorker(for config: Configuration) -> Bool {
        let want = ModelSettings(config)
        return state.withLock { s in s.workers.values.contains { w in w.state.withLock { !$0.busy && !$0.ended && $0.model == want } } }
    }

    /// Retires the idle workers, whose models hold memory a job for another model is waiting for.
    func retireIdle() {
        let idle = state.withLock { s -> [PooledWorker] in
            let idle = s.workers.values.filter { w in w.state.withLock { !$0.busy && !$0.ended } }
            for w in idle { s.workers.removeValue(forKey: w.id) }
            return idle
        }
        for w in idle { w.retire() }
    }

    /// Closes every worker's input (each exits after its current job) and waits for them.
    func shutdown() async {
        let (workers, tasks) = state.withLock { s in (Array(s.workers.values), Array(s.tasks.values)) }
        for worker in workers { worker.retire() }
        for task in tasks { await task.value }
    }

    /// A memory cgroup of its own for a new worker when `worker_memory_limit_mb` is set
    /// (nil when unset, or when cgroups cannot be created here: logged once).
    private func makeWorkerCgroup(_ s: inout State, serial: Int, config: Configuration) -> MemoryCgroup? {
        guard config.workerMemoryLimitMB > 0, let parent = memoryCgroup else { return nil }
        do {
            return try parent.makeChild(named: "\(MemoryCgroup.workerPrefix)\(getpid())-\(serial)",
                                        limitBytes: Int64(config.workerMemoryLimitMB) << 20)
        } catch {
            if !s.cgroupWarned {
                s.cgroupWarned = true
                logger.warning("cannot give workers their own memory cgroup; worker_memory_limit_mb is not enforced (an OOM kill by an outer limit is still recognised)",
                               metadata: ["error": "\(error)"])
            }
            return nil
        }
    }
}
