import Dispatch
import Foundation
import WhisperKernels

/// x · Wᵀ for a handful of rows (the decoder's per-step input: one row per
/// hypothesis), reading each weight row once.
///
/// Exists because sgemm packs the whole weight matrix on every call: for the
/// output projection (51864 × 384 floats, 80 MB) at every decoding step that
/// copy cost more than the arithmetic (about a third of a beam-5 run's time in
/// a profile). Here a weight row is loaded once and dotted with every input
/// row while those stay in L1, so a step is bound by one read of W. Each
/// output is one dot product whatever the split, so the result does not
/// depend on the thread count.
enum SmallRowsLinear {
    /// Largest row count one pass of the kernel takes (its input rows stay in L1).
    static let maxRows = 8
    /// Largest row count worth `applyBlocked` (a batched decoding step: eight windows' beams);
    /// above it sgemm's packing is paid back.
    static let maxBlockedRows = 64
    /// Weight rows per block of `applyBlocked`: read from memory by the first group of input
    /// rows, from L2 by the others (128 rows of 1536 float16 weights: 384 KB).
    static let blockOutputs = 128

    /// The weight rows of one product. Sendable so the threads of one split can read
    /// through it: the pointers outlive the call.
    enum Weights: @unchecked Sendable {
        case float32(UnsafePointer<Float>)
        /// float16 rows (the mapped model.bin's); AVX2 only (`linear` widens them elsewhere).
        case float16(UnsafePointer<Float16>)

        /// Fewest weights worth a split over threads: a split costs a thread
        /// hand-off (microseconds), about the time to stream 1 MB of Float rows.
        var smallestSplit: Int { 1 << 18 }
    }

    /// y[r·outs + o] (+)= Σᵢ x[r·k + i] · w[o·k + i] for r < rows, o < outs.
    /// With `accumulate`, y already holds the bias and the products are added.
    /// Large projections are split over `threads` threads by output rows.
    static func apply(x: UnsafePointer<Float>, rows: Int, k: Int, weights: Weights, outs: Int,
                      y: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int) {
        precondition(rows <= maxRows)
        let parts = outs * k >= weights.smallestSplit ? max(1, threads) : 1
        let (xs, ys) = (SharedPointer(x), SharedPointer(y))
        Parallel.split(parts) { p in
            let part = Parallel.range(p, of: parts, count: outs)
            guard !part.isEmpty else { return }
            kernel(x: xs.raw, rows: rows, k: k, weights: weights, outs: outs, range: part, y: ys.raw,
                   accumulate: accumulate)
        }
    }

    /// `apply` for up to `maxBlockedRows` rows (a batched decoding step): the rows go in groups
    /// of at most `maxRows` through the same kernel, one block of `blockOutputs` weight rows at
    /// a time, so each weight is read from memory once for all the rows (sgemm packed the whole
    /// matrix on every call instead, and a float16 matrix had to be widened first). Each output
    /// is still one dot product, so the result does not depend on the thread count.
    static func applyBlocked(x: UnsafePointer<Float>, rows: Int, k: Int, weights: Weights, outs: Int,
                             y: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int) {
        precondition(rows <= maxBlockedRows)
        if rows <= maxRows {
            apply(x: x, rows: rows, k: k, weights: weights, outs: outs, y: y, accumulate: accumulate, threads: threads)
            return
        }
        // Groups of five when the rows are whole beams of 5 (the kernel's widest block), else of eight.
        let group = rows % 5 == 0 ? 5 : maxRows
        let parts = outs * k >= weights.smallestSplit ? max(1, threads) : 1
        let (xs, ys) = (SharedPointer(x), SharedPointer(y))
        Parallel.split(parts) { p in
            let part = Parallel.range(p, of: parts, count: outs)
            for lo in stride(from: part.lowerBound, to: part.upperBound, by: blockOutputs) {
                let block = lo ..< min(part.upperBound, lo + blockOutputs)
                for r in stride(from: 0, to: rows, by: group) {
                    kernel(x: xs.raw + r * k, rows: min(group, rows - r), k: k, weights: weights, outs: outs, range: block,
                           y: ys.raw + r * outs, accumulate: accumulate)
                }
            }
        }
    }

    private static func kernel(x: UnsafePointer<Float>, rows: Int, k: Int, weights: Weights, outs: Int,
                               range: Range<Int>, y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        switch weights {
        case .float32(let w):
            if CPUFeatures.avx2FMA {
                SmallRowsAVX2.apply(x: x, rows: rows, k: k, w: w, outs: outs, range: range, y: y, accumulate: accumulate)
            } else {
                portable(x: x, rows: rows, k: k, w: w, outs: outs, range: range, y: y, accumulate: accumulate)
            }
        case .float16(let w):
            precondition(CPUFeatures.avx2FMA, "float16 small-row products need AVX2")
            SmallRowsAVX2.dotsFloat16(x: x, ldx: k, rows: rows, w: w, ldw: k, k: k, range: range, y: y, ldy: outs,
                                      accumulate: accumulate)
        }
    }

    /// The Float product on a CPU without AVX2 and FMA.
    private static func portable(x: UnsafePointer<Float>, rows: Int, k: Int, w: UnsafePointer<Float>, outs: Int,
                                 range: Range<Int>, y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let vectorEnd = k & ~15
        for o in range {
            let wRow = w + o * k
            for r in 0..<rows {
                let xRow = x + r * k
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
                var i = 0
                // Baseline x86-64 has no FMA instruction (addingProduct would call fmaf per lane).
                while i < vectorEnd {
                    a0 += UnsafeRawPointer(wRow + i).loadUnaligned(as: SIMD8<Float>.self)
                        * UnsafeRawPointer(xRow + i).loadUnaligned(as: SIMD8<Float>.self)
                    a1 += UnsafeRawPointer(wRow + i + 8).loadUnaligned(as: SIMD8<Float>.self)
                        * UnsafeRawPointer(xRow + i + 8).loadUnaligned(as: SIMD8<Float>.self)
                    i += 16
                }
                var sum = (a0 + a1).sum()
                while i < k {
                    sum += wRow[i] * xRow[i]
                    i += 1
                }
                let dst = y + r * outs + o
                dst.pointee = accumulate ? dst.pointee + sum : sum
            }
        }
    }
}
