import Foundation
import HotFolder
import Synchronization

/// How long one job may be and how long one attempt may run: `[limits]`.
///
/// It exists because an upload controls both: a header can declare days of audio,
/// and a file built to make the decoder or the engine crawl would hold a worker
/// forever. Both limits end the job with a failure kind of its own, never a retry loop.
public struct JobLimits: Sendable, Equatable {
    /// Longer sources fail `too-long` before anything is decoded (all-day recordings are real: 24 h).
    public var maxAudioSeconds: Double = 86_400
    /// An attempt may run this many times the audio's length on the wall clock ...
    public var jobTimeoutFactor: Double = 6
    /// ... but never less than this, so short files and start-up are not cut off.
    public var jobTimeoutMinSeconds: Double = 300

    public init() {}

    /// Seconds an attempt may run, given the audio length known so far (nil: not yet known).
    public func timeout(audioSeconds: Double?) -> Double {
        guard let audio = audioSeconds, audio.isFinite, audio > 0 else { return jobTimeoutMinSeconds }
        return max(jobTimeoutFactor * min(audio, maxAudioSeconds), jobTimeoutMinSeconds)
    }

    /// Whether a source of this length is refused.
    public func isTooLong(audioSeconds: Double) -> Bool { audioSeconds > maxAudioSeconds }

    /// The failure for a source past `maxAudioSeconds`.
    public func tooLong(_ name: String, audioSeconds: Double, declared: Bool) -> TranscriptionFailure {
        TranscriptionFailure(kind: .tooLong, message: "\(name): \(declared ? "declares" : "holds more than") "
                             + "\(Int(audioSeconds)) s of audio, more than [limits] max_audio_seconds (\(Int(maxAudioSeconds)))")
    }
}

/// A line a worker prints on stdout before its outcome: the audio length, as soon as it
/// is known (or a lower bound that grows), so the supervisor can set the attempt's deadline.
public struct WorkerProgressLine: Codable, Sendable, Equatable {
    public var audioSeconds: Double

    public init(audioSeconds: Double) { self.audioSeconds = audioSeconds }

    enum CodingKeys: String, CodingKey { case audioSeconds = "audio_seconds" }

    /// Prints the line on stdout at once (the supervisor reads it while the worker runs).
    public static func report(_ seconds: Double) {
        guard let data = try? JSONEncoder().encode(WorkerProgressLine(audioSeconds: seconds)) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// One attempt's wall-clock deadline, moved out as the worker reports the audio length.
///
/// Shared by the supervisor's tasks for one worker: the stdout reader feeds it, the
/// watchdog asks it whether to kill, and `settle` whether the kill was the timeout.
final class AttemptDeadline: Sendable {
    private struct State {
        var audioSeconds: Double?
        var expiredAfter: Double?
    }

    let limits: JobLimits
    let started: Double
    private let state = Mutex(State())

    init(limits: JobLimits, started: Double) {
        self.limits = limits
        self.started = started
    }

    /// Reads the worker's progress lines in `text` (whole lines as `PooledWorker` delivers
    /// them; an unfinished line does not parse and is ignored).
    func observe(workerOutput text: String) {
        for line in text.split(separator: "\n") where line.hasPrefix(#"{"audio_seconds""#) {
            guard let progress = try? JSONDecoder().decode(WorkerProgressLine.self, from: Data(line.utf8)) else { continue }
            state.withLock { s in s.audioSeconds = max(s.audioSeconds ?? 0, progress.audioSeconds) }
        }
    }

    /// True once, when `now` is past the deadline: the caller kills the worker.
    func expire(now: Double) -> Bool {
        state.withLock { s in
            let limit = limits.timeout(audioSeconds: s.audioSeconds)
            guard s.expiredAfter == nil, now - started > limit else { return false }
            s.expiredAfter = limit
            return true
        }
    }

    /// The limit that was exceeded, if the worker was killed for it.
    var expiredAfter: Double? { state.withLock { $0.expiredAfter } }
}
