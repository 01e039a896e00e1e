import CBLASCore

/// Which OpenBLAS kernels this process runs, for `--version` and the daemon's start log.
///
/// Exists because OpenBLAS chooses its kernels from the CPU model, and on CPUs newer than the library it
/// falls back to slow ones; the binary then re-selects them at start (Sources/CBLASCore), and a user
/// comparing speeds needs to see which were used.
enum BLASCore {
    static var name: String { dropscribe_blas_core_name().map { String(cString: $0) } ?? "unknown" }

    /// What OpenBLAS had chosen by itself, when dropscribe replaced it.
    static var replaced: String? { dropscribe_blas_core_replaced().map { String(cString: $0) } }

    static var summary: String {
        guard let replaced else { return "OpenBLAS core \(name)" }
        return "OpenBLAS core \(name) (chosen by dropscribe; OpenBLAS took this CPU for \(replaced))"
    }
}
