import Foundation
import Glibc
import HotFolder

/// A test seam: `DROPSCRIBE_TEST_KILL_AFTER=<step>` makes the daemon kill itself
/// with SIGKILL right after that step of removing a source (`SourceDeletionStep`, or
/// `done-written` for the durable `.done` marker before them).
///
/// It exists so that the crash-safety of `delete_source` is tested at every step,
/// deterministically, instead of by killing the daemon at random moments. Unset
/// (always, outside the tests) it does nothing.
enum CrashSeam {
    static let variable = "DROPSCRIBE_TEST_KILL_AFTER"
    static let doneWritten = "done-written"

    static func reached(_ step: String) {
        guard ProcessInfo.processInfo.environment[variable] == step else { return }
        kill(getpid(), SIGKILL)
    }

    static func reached(_ step: SourceDeletionStep) { reached(step.rawValue) }
}
