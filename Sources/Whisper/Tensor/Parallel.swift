import Dispatch
import Foundation
import WhisperKernels

/// What the CPU offers beyond baseline x86-64, read once.
///
/// Exists so every hot loop picks the WhisperKernels (AVX2 + FMA) version or
/// its portable twin from the same answer.
enum CPUFeatures {
    /// AVX2 and FMA, from cpuid, unless `DROPSCRIBE_CPU` asks for the portable level
    /// (an unusable value fails the model's load, which reads the same variable).
    static let avx2FMA: Bool = ((try? KernelLevel.fromEnvironment()) ?? KernelLevel.detected) >= .avx2
}

/// A pointer handed to the threads of one `Parallel.split`.
///
/// Exists because unsafe pointers are not Sendable: every user writes a
/// disjoint part of the buffer and the buffer outlives the call.
struct SharedPointer<T>: @unchecked Sendable {
    let raw: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { raw = p }
    init(_ p: UnsafePointer<T>) { raw = UnsafeMutablePointer(mutating: p) }
}

/// The engine's own threading: the work split into `parts` pieces run on GCD's pool.
///
/// Exists because OpenBLAS runs single-threaded here (see `BLAS`): its pool
/// busy-waits between calls, and on a machine with as many cores as threads
/// that spinning stole time from every serial loop in between. Splitting
/// ourselves lets attention, softmax and GELU run in parallel too.
enum Parallel {
    /// Runs body(0..<parts) concurrently (inline when parts ≤ 1).
    static func split(_ parts: Int, _ body: @Sendable (Int) -> Void) {
        if parts <= 1 { body(0); return }
        DispatchQueue.concurrentPerform(iterations: parts, execute: body)
    }

    /// [lo, hi) of part p when `count` items are cut into `parts` pieces of multiples of `align`.
    static func range(_ p: Int, of parts: Int, count: Int, align: Int = 1) -> Range<Int> {
        let per = ((count + parts - 1) / parts + align - 1) / align * align
        let lo = min(count, p * per)
        return lo..<min(count, lo + per)
    }
}
