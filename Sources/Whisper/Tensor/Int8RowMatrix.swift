import WhisperKernels

/// How the decoder's weights are stored for its per-step products.
///
/// Exists for `compute_type` (faster-whisper's name for it): float32 is the
/// exact default; int8 keeps an int8 copy of every decoder projection and of the
/// output projection, a quarter of the bytes each decoding step streams from memory.
public enum ComputeType: String, Sendable, CaseIterable {
    case float32
    /// Weight-only int8 in the decoder: one scale per weight row (as CTranslate2
    /// quantises), activations and arithmetic stay Float; the encoder stays float32.
    case int8
}

/// A weight matrix as int8 with one Float scale per row: row o is q[o, ·] · scale[o].
///
/// Exists for the int8 compute type: the decoder's steps are bound by reading
/// weights (80 MB for tiny.en's output projection alone, at every step), and an
/// int8 copy is a quarter of that.
struct Int8RowMatrix: Sendable {
    let rows: Int
    let cols: Int
    let values: [Int8]
    let scales: [Float]

    /// Symmetric per-row quantisation: scale = max|w| / 127, q = round(w / scale).
    init(_ m: Matrix) {
        rows = m.rows
        cols = m.cols
        let (rowCount, k) = (m.rows, m.cols)
        var values = [Int8](repeating: 0, count: rowCount * k)
        var scales = [Float](repeating: 0, count: rowCount)
        let parts = BLAS.threads
        m.storage.withUnsafeBufferPointer { w in
            values.withUnsafeMutableBufferPointer { v in
                scales.withUnsafeMutableBufferPointer { sc in
                    let (ws, vs, ss) = (SharedPointer(w.baseAddress!), SharedPointer(v.baseAddress!), SharedPointer(sc.baseAddress!))
                    Parallel.split(parts) { p in
                        for r in Parallel.range(p, of: parts, count: rowCount) {
                            let row = ws.raw + r * k, out = vs.raw + r * k
                            var largest: Float = 0
                            for i in 0..<k { largest = max(largest, abs(row[i])) }
                            let scale = largest > 0 ? largest / 127 : 1
                            let inverse = 1 / scale
                            ss.raw[r] = scale
                            for i in 0..<k { out[i] = Int8(max(-127, min(127, (row[i] * inverse).rounded()))) }
                        }
                    }
                }
            }
        }
        self.values = values
        self.scales = scales
    }

    /// y[r·rows + o] (+)= Σᵢ x[r·cols + i] · q[o·cols + i] · scale[o] for a few rows of x,
    /// the output rows split over `threads` (each output one dot product: no dependence on the split).
    func apply(x: UnsafePointer<Float>, rows n: Int, y: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int) {
        let outs = rows, k = cols
        let parts = outs * k >= 1 << 19 ? max(1, threads) : 1
        values.withUnsafeBufferPointer { qp in
            scales.withUnsafeBufferPointer { sp in
                let (xs, qs, ss, ys) = (SharedPointer(x), SharedPointer(qp.baseAddress!), SharedPointer(sp.baseAddress!),
                                        SharedPointer(y))
                Parallel.split(parts) { p in
                    let part = Parallel.range(p, of: parts, count: outs)
                    guard !part.isEmpty else { return }
                    if CPUFeatures.avx2FMA {
                        SmallRowsAVX2.dotsInt8(x: xs.raw, ldx: k, rows: n, q: qs.raw, ldq: k, rowScales: ss.raw, k: k,
                                               range: part, y: ys.raw, ldy: outs, accumulate: accumulate)
                        return
                    }
                    for o in part {
                        let q = qs.raw + o * k
                        for r in 0..<n {
                            let xr = xs.raw + r * k
                            var sum: Float = 0
                            for i in 0..<k { sum += xr[i] * Float(q[i]) }
                            let dst = ys.raw + r * outs + o
                            dst.pointee = (accumulate ? dst.pointee : 0) + sum * ss.raw[o]
                        }
                    }
                }
            }
        }
    }
}

/// y = x · Wᵀ + b through the layer's int8 copy when it has one and x is a few rows
/// (a decoding step), else in float32.
func linear(_ x: Matrix, _ layer: LinearWeights) -> Matrix {
    guard let q = layer.quantized, x.rows <= SmallRowsLinear.maxRows else { return linear(x, layer.w, layer.b) }
    precondition(x.cols == q.cols, "linear: x.cols \(x.cols) != w.cols \(q.cols)")
    let n = x.rows, out = q.rows
    var y = [Float](repeating: 0, count: n * out)
    y.withUnsafeMutableBufferPointer { yp in
        if let b = layer.b {
            for r in 0..<n { for o in 0..<out { yp[r * out + o] = b[o] } }
        }
        x.storage.withUnsafeBufferPointer { xp in
            q.apply(x: xp.baseAddress!, rows: n, y: yp.baseAddress!, accumulate: layer.b != nil, threads: BLAS.threads)
        }
    }
    return Matrix(rows: n, cols: out, storage: y)
}
