import CBLAS
import Foundation
import WhisperKernels

/// A dense row-major matrix of `Float` over contiguous storage.
///
/// Exists so the network code can talk about shapes (rows × cols) while all
/// heavy arithmetic goes to OpenBLAS; the storage is a plain `[Float]`, so a
/// `Matrix` is a copy-on-write Sendable value.
public struct Matrix: Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    public var storage: [Float]

    public init(rows: Int, cols: Int, storage: [Float]) {
        precondition(storage.count == rows * cols, "Matrix storage \(storage.count) != \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    public init(zeros rows: Int, _ cols: Int) {
        self.init(rows: rows, cols: cols, storage: [Float](repeating: 0, count: rows * cols))
    }

    @inline(__always)
    public subscript(r: Int, c: Int) -> Float {
        get { storage[r * cols + c] }
        set { storage[r * cols + c] = newValue }
    }

    /// One row as a new array.
    public func row(_ r: Int) -> [Float] {
        Array(storage[r * cols ..< (r + 1) * cols])
    }

    /// Rows [start, end) as a new matrix.
    public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, cols: cols, storage: Array(storage[range.lowerBound * cols ..< range.upperBound * cols]))
    }

    public func transposed() -> Matrix {
        var out = [Float](repeating: 0, count: rows * cols)
        storage.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for r in 0..<rows {
                    for c in 0..<cols { o[c * rows + r] = s[r * cols + c] }
                }
            }
        }
        return Matrix(rows: cols, cols: rows, storage: out)
    }
}

/// OpenBLAS threading control.
///
/// OpenBLAS runs single-threaded: the engine splits its own work (`Parallel`,
/// `parallelSgemm`) into `threads` parts. OpenBLAS's pool busy-waits (sched_yield)
/// after every call, and on this kind of machine, as many cores as threads, that
/// spinning took a sixth of a run's CPU time and slowed every serial loop in between.
/// An element's rounding can depend on the row count of the call that computes it
/// (OpenBLAS's Haswell kernels round a 32-row product otherwise than two 16-row halves),
/// so what must be bit-identical whatever the thread count goes through
/// `fixedRowsSgemm`.
/// Entry points run inside `run`, which holds one process-wide (recursive) lock:
/// concurrent callers are serialised (a worker process runs one job, so nothing is
/// lost there) and the thread setting cannot change under a running computation.
public enum BLAS {
    nonisolated(unsafe) private static var configured = 0
    private static let lock = NSRecursiveLock()

    /// Sets the engine's thread count (≤ 0 = all cores).
    public static func setThreads(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        configured = n > 0 ? n : ProcessInfo.processInfo.activeProcessorCount
    }

    /// How many parts the engine splits its work into.
    public static var threads: Int {
        lock.lock(); defer { lock.unlock() }
        if configured == 0 { configured = ProcessInfo.processInfo.activeProcessorCount }
        return configured
    }

    /// Runs `body` holding the BLAS lock with OpenBLAS pinned to `openBLASThreads` (1 but for the benchmark's reference).
    public static func run<T>(openBLASThreads: Int = 1, _ body: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        if Int(openblas_get_num_threads()) != openBLASThreads { openblas_set_num_threads(Int32(openBLASThreads)) }
        defer { if openBLASThreads != 1 { openblas_set_num_threads(1) } }
        return body()
    }
}

/// sgemm with the rows of C split over `BLAS.threads` single-threaded calls, one call per
/// thread of a multiple of 16 rows (same blocking along k as one call; with some OpenBLAS
/// kernels the rounding still follows the split, see `BLAS`).
func parallelSgemm(_ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                   a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                   beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let parts = m * n * k >= 1 << 20 && m >= 32 ? BLAS.threads : 1
    fixedRowsSgemm(transA, transB, rowsPerCall: Parallel.range(0, of: parts, count: m, align: 16).count, m: m, n: n, k: k,
                   alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
}

/// sgemm computed in calls of `rowsPerCall` rows of C each (the last may be shorter),
/// the calls spread over `BLAS.threads`: every element's bits depend on `rowsPerCall`
/// alone, never on the thread count. For results that one computation must reproduce
/// exactly in another, such as a log-mel frame computed by the level pass and again by
/// its window.
func fixedRowsSgemm(_ transA: Bool = false, _ transB: Bool = false, rowsPerCall: Int, m: Int, n: Int, k: Int,
                    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0 else { return }
    let perCall = max(1, rowsPerCall)
    let calls = (m + perCall - 1) / perCall
    let parts = min(calls, BLAS.threads)
    let (ap, bp, cp) = (SharedPointer(a), SharedPointer(b), SharedPointer(c))
    Parallel.split(parts) { p in
        for call in Parallel.range(p, of: parts, count: calls) {
            let lo = call * perCall, rows = min(perCall, m - lo)
            sgemm(transA, transB, m: rows, n: n, k: k, alpha: alpha, a: ap.raw + (transA ? lo : lo * lda), lda: lda,
                  b: bp.raw, ldb: ldb, beta: beta, c: cp.raw + lo * ldc, ldc: ldc)
        }
    }
}

/// C = alpha · op(A) · op(B) + beta · C on raw row-major buffers.
/// `a` is (m×k) if !transA else (k×m); `b` is (k×n) if !transB else (n×k).
@inline(__always)
func sgemm(_ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// `rows` copies of the bias, one per output row (zeros without one): where a
/// linear layer's products are then added.
func biasRows(_ bias: [Float]?, rows n: Int, outs: Int) -> [Float] {
    var y = [Float](repeating: 0, count: n * outs)
    guard let bias else { return y }
    precondition(bias.count == outs)
    y.withUnsafeMutableBufferPointer { yp in
        bias.withUnsafeBufferPointer { bp in
            for r in 0..<n { (yp.baseAddress! + r * outs).update(from: bp.baseAddress!, count: outs) }
        }
    }
    return y
}

/// y = x · Wᵀ + bias for x (n×in), W (out×in) stored as in CTranslate2.
func linear(_ x: Matrix, _ w: Matrix, _ bias: [Float]?) -> Matrix {
    precondition(x.cols == w.cols, "linear: x.cols \(x.cols) != w.cols \(w.cols)")
    return w.storage.withUnsafeBufferPointer { wp in linear(x, weights: wp.baseAddress!, outs: w.rows, bias) }
}

/// y = x · Wᵀ + bias for W (outs × x.cols, row-major) at `weights`.
func linear(_ x: Matrix, weights wp: UnsafePointer<Float>, outs out: Int, _ bias: [Float]?) -> Matrix {
    let n = x.rows, k = x.cols
    var y = biasRows(bias, rows: n, outs: out)
    x.storage.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { yp in
            if n <= 2 && !CPUFeatures.avx2FMA {
                // GEMV avoids packing the whole weight matrix for a single row.
                for r in 0..<n {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(out), Int32(k), 1, wp, Int32(k),
                                xp.baseAddress! + r * k, 1, bias == nil ? 0 : 1, yp.baseAddress! + r * out, 1)
                }
            } else if n <= SmallRowsLinear.maxRows || (n <= SmallRowsLinear.maxBlockedRows && CPUFeatures.avx2FMA) {
                SmallRowsLinear.applyBlocked(x: xp.baseAddress!, rows: n, k: k, weights: .float32(wp), outs: out,
                                      y: yp.baseAddress!, accumulate: bias != nil, threads: BLAS.threads)
            } else {
                parallelSgemm(false, true, m: n, n: out, k: k, a: xp.baseAddress!, lda: k,
                              b: wp, ldb: k, beta: bias == nil ? 0 : 1, c: yp.baseAddress!, ldc: out)
            }
        }
    }
    return Matrix(rows: n, cols: out, storage: y)
}

/// A · B (no transposes).
func matmul(_ a: Matrix, _ b: Matrix) -> Matrix {
    precondition(a.cols == b.rows)
    var y = [Float](repeating: 0, count: a.rows * b.cols)
    a.storage.withUnsafeBufferPointer { ap in
        b.storage.withUnsafeBufferPointer { bp in
            y.withUnsafeMutableBufferPointer { yp in
                parallelSgemm(false, false, m: a.rows, n: b.cols, k: a.cols, a: ap.baseAddress!, lda: a.cols,
                      b: bp.baseAddress!, ldb: b.cols, c: yp.baseAddress!, ldc: b.cols)
            }
        }
    }
    return Matrix(rows: a.rows, cols: b.cols, storage: y)
}

/// LayerNorm over each row: (x−μ)/√(σ²+ε)·γ + β, population variance, ε = 1e-5.
func layerNorm(_ x: Matrix, gamma: [Float], beta: [Float], eps: Float = 1e-5) -> Matrix {
    precondition(gamma.count == x.cols && beta.count == x.cols)
    var out = x.storage
    let d = x.cols
    out.withUnsafeMutableBufferPointer { o in
        for r in 0..<x.rows {
            let base = r * d
            var mean: Float = 0
            for i in 0..<d { mean += o[base + i] }
            mean /= Float(d)
            var v: Float = 0
            for i in 0..<d { let t = o[base + i] - mean; v += t * t }
            v /= Float(d)
            let inv = 1 / (v + eps).squareRoot()
            for i in 0..<d { o[base + i] = (o[base + i] - mean) * inv * gamma[i] + beta[i] }
        }
    }
    return Matrix(rows: x.rows, cols: x.cols, storage: out)
}

/// GELU, erf form: 0.5·x·(1 + erf(x/√2)), in place.
/// Large arrays are cut into `BLAS.threads` parts.
func geluInPlace(_ x: inout [Float]) {
    let s: Float = 0.7071067811865476
    let count = x.count
    let parts = count >= 1 << 16 ? BLAS.threads : 1
    x.withUnsafeMutableBufferPointer { buffer in
        let base = SharedPointer(buffer.baseAddress!)
        Parallel.split(parts) { part in
            let r = Parallel.range(part, of: parts, count: count, align: 8)
            guard !r.isEmpty else { return }
            let p = base.raw + r.lowerBound
            if CPUFeatures.avx2FMA {
                VectorKernelsAVX2.gelu(p, count: r.count)
            } else {
                for i in 0..<r.count { let v = p[i]; p[i] = 0.5 * v * (1 + erff(v * s)) }
            }
        }
    }
}

func addInPlace(_ x: inout [Float], _ y: [Float]) {
    precondition(x.count == y.count)
    x.withUnsafeMutableBufferPointer { xp in
        y.withUnsafeBufferPointer { yp in
            for i in xp.indices { xp[i] += yp[i] }
        }
    }
}

/// Numerically stable softmax over a row slice, in place.
@inline(__always)
func softmaxInPlace(_ p: UnsafeMutablePointer<Float>, count: Int) {
    if CPUFeatures.avx2FMA { VectorKernelsAVX2.softmax(p, count: count); return }
    var m = -Float.greatestFiniteMagnitude
    for i in 0..<count where p[i] > m { m = p[i] }
    var s: Float = 0
    for i in 0..<count { let e = expf(p[i] - m); p[i] = e; s += e }
    let inv = 1 / s
    for i in 0..<count { p[i] *= inv }
}
