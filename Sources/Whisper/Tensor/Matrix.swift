import CBLAS
import Foundation

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
/// OpenBLAS's thread count is process-global, and a GEMM's rounding can depend on
/// it. Every engine entry point that calls BLAS therefore runs inside `run(threads:)`,
/// which holds one process-wide (recursive) lock and pins the count: the front end
/// and encoder use the configured count, the decoder one thread (its GEMMs have
/// M ≤ 5, where a thread hand-off costs more than the arithmetic). This keeps feature
/// values bit-identical however the window is computed, even with concurrent callers
/// (which are serialised; a worker process runs one job, so nothing is lost there).
public enum BLAS {
    nonisolated(unsafe) private static var configured = 0
    private static let lock = NSRecursiveLock()

    /// Sets the thread count used for features and the encoder (≤ 0 = OpenBLAS's default, all cores).
    public static func setThreads(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        if configured == 0 { configured = Int(openblas_get_num_threads()) }
        if n > 0 { configured = n }
    }

    /// The thread count used for features and the encoder.
    public static var threads: Int {
        lock.lock(); defer { lock.unlock() }
        if configured == 0 { configured = Int(openblas_get_num_threads()) }
        return configured
    }

    /// Runs `body` holding the BLAS lock with `n` OpenBLAS threads (nil = the configured count).
    static func run<T>(threads n: Int? = nil, _ body: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        if configured == 0 { configured = Int(openblas_get_num_threads()) }
        let want = n ?? configured
        let old = Int(openblas_get_num_threads())
        if want != old { openblas_set_num_threads(Int32(want)) }
        defer { if want != old { openblas_set_num_threads(Int32(old)) } }
        return body()
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

/// y = x · Wᵀ + bias for x (n×in), W (out×in) stored as in CTranslate2.
func linear(_ x: Matrix, _ w: Matrix, _ bias: [Float]?) -> Matrix {
    precondition(x.cols == w.cols, "linear: x.cols \(x.cols) != w.cols \(w.cols)")
    let n = x.rows, out = w.rows
    var y = [Float](repeating: 0, count: n * out)
    if let bias {
        precondition(bias.count == out)
        y.withUnsafeMutableBufferPointer { yp in
            bias.withUnsafeBufferPointer { bp in
                for r in 0..<n { (yp.baseAddress! + r * out).update(from: bp.baseAddress!, count: out) }
            }
        }
    }
    x.storage.withUnsafeBufferPointer { xp in
        w.storage.withUnsafeBufferPointer { wp in
            y.withUnsafeMutableBufferPointer { yp in
                if n <= 2 {
                    // GEMV avoids packing the whole weight matrix for a single row.
                    for r in 0..<n {
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(out), Int32(w.cols), 1, wp.baseAddress!, Int32(w.cols),
                                    xp.baseAddress! + r * x.cols, 1, bias == nil ? 0 : 1, yp.baseAddress! + r * out, 1)
                    }
                } else if n <= SmallRowsLinear.maxRows {
                    SmallRowsLinear.apply(x: xp.baseAddress!, rows: n, k: x.cols, w: wp.baseAddress!, outs: out,
                                          y: yp.baseAddress!, accumulate: bias != nil, threads: BLAS.threads)
                } else {
                    sgemm(false, true, m: n, n: out, k: x.cols, a: xp.baseAddress!, lda: x.cols,
                          b: wp.baseAddress!, ldb: w.cols, beta: bias == nil ? 0 : 1, c: yp.baseAddress!, ldc: out)
                }
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
                sgemm(false, false, m: a.rows, n: b.cols, k: a.cols, a: ap.baseAddress!, lda: a.cols,
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
func geluInPlace(_ x: inout [Float]) {
    let s: Float = 0.7071067811865476
    x.withUnsafeMutableBufferPointer { p in
        for i in p.indices { let v = p[i]; p[i] = 0.5 * v * (1 + erff(v * s)) }
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
    var m = -Float.greatestFiniteMagnitude
    for i in 0..<count where p[i] > m { m = p[i] }
    var s: Float = 0
    for i in 0..<count { let e = expf(p[i] - m); p[i] = e; s += e }
    let inv = 1 / s
    for i in 0..<count { p[i] *= inv }
}
