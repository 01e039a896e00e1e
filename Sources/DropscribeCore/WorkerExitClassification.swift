import Glibc
import HotFolder
import Subprocess

/// What the memory cgroup says about a worker's SIGKILL.
enum OOMEvidence: Equatable {
    /// The cgroup's oom_kill count rose while the worker ran; `limitMB` when it was the worker's own limit.
    case killed(limitMB: Int?)
    case notKilled
    /// No memory cgroup to ask.
    case unknown
}

/// Names the failure of a worker that ended without reporting an outcome.
///
/// It exists so that how a worker died (a signal, an exit code, the OOM killer)
/// maps to a failure kind and message in one pure function.
enum WorkerExitClassification {
    static func classify(_ status: TerminationStatus?, rel: String, oom: OOMEvidence) -> (FailureKind, String) {
        switch status {
        case .signaled(let sig)? where sig == SIGKILL:
            switch oom {
            case .killed(let limit?):
                return (.outOfMemory, "\(rel): the worker ran out of memory: the kernel killed it at its limit (worker_memory_limit_mb = \(limit))")
            case .killed(nil):
                return (.outOfMemory, "\(rel): the worker ran out of memory: the kernel's out-of-memory killer killed it (the memory cgroup's oom_kill count rose)")
            case .notKilled:
                return (.killed, "\(rel): the worker was killed by SIGKILL (not by the out-of-memory killer: its memory cgroup counted no OOM kill)")
            case .unknown:
                return (.killed, "\(rel): the worker was killed by SIGKILL (by the out-of-memory killer or by hand; no memory cgroup to tell)")
            }
        case .signaled(let sig)?:
            return (.workerCrashed, "\(rel): the worker crashed with signal \(sig)")
        case .exited(let code)?:
            return (.workerCrashed, "\(rel): the worker exited with status \(code) without a result")
        default:
            return (.workerCrashed, "\(rel): the worker could not be run")
        }
    }
}
