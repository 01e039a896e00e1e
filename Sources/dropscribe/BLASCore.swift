import CBLASCore
import Glibc

/// Which OpenBLAS kernels this process runs, for `--version` and the daemon's start log.
///
/// Exists because OpenBLAS chooses its kernels from the CPU model, and on CPUs newer than the library it
/// falls back to slow ones; the binary then re-selects them at start (Sources/CBLASCore), and a user
/// comparing speeds needs to see which were used.
enum BLASCore {
    static var name: String { dropscribe_blas_core_name().map { String(cString: $0) } ?? "unknown" }

    /// What OpenBLAS had chosen by itself, when dropscribe replaced it.
    static var replaced: String? { dropscribe_blas_core_replaced().map { String(cString: $0) } }

    /// Whether OPENBLAS_CORETYPE came from the user's environment: then OpenBLAS runs that core,
    /// which may be slower than what it would choose (an AVX2 core on an AVX-512 CPU, say).
    static var pinnedByUser: Bool { replaced == nil && getenv("OPENBLAS_CORETYPE") != nil }

    static var summary: String {
        if let replaced { return "OpenBLAS core \(name) (chosen by dropscribe; OpenBLAS took this CPU for \(replaced))" }
        if pinnedByUser { return "OpenBLAS core \(name) (set by OPENBLAS_CORETYPE in the environment)" }
        return "OpenBLAS core \(name)"
    }
}
