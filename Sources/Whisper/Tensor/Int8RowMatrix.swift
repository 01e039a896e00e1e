import WhisperKernels

/// How the linear layers' weights are stored and multiplied (docs/engine.md §9).
///
/// Exists for `compute_type` (faster-whisper's name for it): float32 is the
/// exact default; int8 and bfloat16 trade a little accuracy for speed and memory.
public enum ComputeType: String, Sendable, CaseIterable {
    case float32
    /// int8 weights with one scale per row (as CTranslate2 quantises) in every linear
    /// layer of the encoder and decoder; activations quantised per row on the fly for
    /// products of many rows, kept Float for a decoding step's few rows.
    case int8
    /// bfloat16 weights and activations with float32 sums in every linear layer and the
    /// output projection; needs AVX512-BF16, else the model runs float32 (see `WhisperModel.load`).
    case bfloat16
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
                            if CPUFeatures.avx2FMA {
                                ss.raw[r] = VectorKernelsAVX2.quantizeRow(row, count: k, into: out)
                                continue
                            }
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
}

/// y = x · Wᵀ + b: through the layer's int8 copy with Float activations when it has one
/// and x is a few rows (a decoding step), else through its packed copy when it has one
/// (int8 or bfloat16 products), else through the mapped file's weights, else in float32.
/// An int8 copy alone (the decoder's per-step layers and output projection under int8)
/// takes many rows (a prompt, word alignment) a few at a time.
func linear(_ x: Matrix, _ layer: LinearWeights) -> Matrix {
    if let q = layer.quantized, x.rows <= SmallRowsLinear.maxBlockedRows { return linear(x, q, layer.b) }
    if let packed = layer.packed { return packed.apply(x, bias: layer.b, threads: BLAS.threads) }
    if let mapped = layer.mapped {
        precondition(x.cols == mapped.cols, "linear: x.cols \(x.cols) != w.cols \(mapped.cols)")
        // A decoding step reads float16 rows as they are; anything else (and a CPU
        // without AVX2) multiplies with the whole matrix widened.
        if mapped.element == .float16, x.rows <= SmallRowsLinear.maxBlockedRows, CPUFeatures.avx2FMA {
            return linear(x, float16: mapped.base.assumingMemoryBound(to: Float16.self), outs: mapped.rows, layer.b)
        }
        return mapped.withFloats(threads: BLAS.threads) { linear(x, weights: $0, outs: mapped.rows, layer.b) }
    }
    if let q = layer.quantized, layer.w.rows == 0 {
        var y: [Float] = []
        y.reserveCapacity(x.rows * q.rows)
        for start in stride(from: 0, to: x.rows, by: SmallRowsLinear.maxRows) {
            y += linear(x.rows(start ..< min(x.rows, start + SmallRowsLinear.maxRows)), q, layer.b).storage
        }
        return Matrix(rows: x.rows, cols: q.rows, storage: y)
    }
    return linear(x, layer.w, layer.b)
}

/// y = x · Wᵀ + b for a few rows of x (up to a batched step's), W as float16 rows.
private func linear(_ x: Matrix, float16 w: UnsafePointer<Float16>, outs: Int, _ bias: [Float]?) -> Matrix {
    var y = biasRows(bias, rows: x.rows, outs: outs)
    y.withUnsafeMutableBufferPointer { yp in
        x.storage.withUnsafeBufferPointer { xp in
            SmallRowsLinear.applyBlocked(x: xp.baseAddress!, rows: x.rows, k: x.cols, weights: .float16(w), outs: outs,
                                  y: yp.baseAddress!, accumulate: bias != nil, threads: BLAS.threads)
        }
    }
    return Matrix(rows: x.rows, cols: outs, storage: y)
}

/// y = x · Wᵀ + b for a few rows of x (up to a batched step's), W as int8 rows, x kept Float.
private func linear(_ x: Matrix, _ q: Int8RowMatrix, _ bias: [Float]?) -> Matrix {
    precondition(x.cols == q.cols, "linear: x.cols \(x.cols) != w.cols \(q.cols)")
    let n = x.rows, out = q.rows
    var y = biasRows(bias, rows: n, outs: out)
    y.withUnsafeMutableBufferPointer { yp in
        x.storage.withUnsafeBufferPointer { xp in
            q.values.withUnsafeBufferPointer { vp in
                q.scales.withUnsafeBufferPointer { sp in
                    SmallRowsLinear.applyBlocked(x: xp.baseAddress!, rows: n, k: q.cols,
                                          weights: .int8(values: vp.baseAddress!, scales: sp.baseAddress!), outs: out,
                                          y: yp.baseAddress!, accumulate: bias != nil, threads: BLAS.threads)
                }
            }
        }
    }
    return Matrix(rows: n, cols: out, storage: y)
}
