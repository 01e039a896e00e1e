import CKernels

/// How the linear layers' weights are stored and multiplied (docs/engine.md §9).
///
/// Exists for `compute_type` (faster-whisper's name for it): float32 is the
/// exact default; int8 and bfloat16 trade a little accuracy for speed and memory.
public enum ComputeType: String, Sendable, CaseIterable {
    case float32
    /// int8 weights with one scale per row (as CTranslate2 quantises) in every linear
    /// layer of the encoder and decoder and the output projection; activations quantised
    /// per row on the fly.
    case int8
    /// bfloat16 weights and activations with float32 sums in every linear layer and the
    /// output projection; needs AVX512-BF16, else the model runs float32 (see `WhisperModel.load`).
    case bfloat16
}

/// A weight matrix as int8 with one Float scale per row, as CTranslate2 4.8 quantises a
/// weight: scale[o] = 127 / max|w[o, ·]| (1 for a zero row), q = round(w · scale) with
/// halves to even, so row o is q[o, ·] / scale[o].
///
/// Exists for the int8 compute type: the quantised rows are packed for every linear
/// layer's product (`PackedMatrix`), and the same formula as CTranslate2's keeps the
/// int8 model's numbers those of faster-whisper's int8 (docs/engine.md §9).
struct Int8RowMatrix: Sendable {
    let rows: Int
    let cols: Int
    let values: [Int8]
    let scales: [Float]

    init(_ m: Matrix, level: KernelLevel = .detected) {
        let k = m.cols
        guard m.rows > 0, k > 0 else {
            self.init(rows: m.rows, cols: k, values: [], scales: [Float](repeating: 1, count: m.rows))
            return
        }
        self = m.storage.withUnsafeBufferPointer { w in
            let ws = SharedPointer(w.baseAddress!)
            return Int8RowMatrix(rows: m.rows, cols: k, level: level) { r, _ in UnsafePointer(ws.raw + r * k) }
        }
    }

    /// The same quantisation of `rows` rows of float16 or float32 values at `base` (the
    /// mapped model.bin), each row widened into a buffer of its thread's own: no Float
    /// copy of the whole matrix (it cost a page-faulted buffer per tensor at load).
    init(rows: Int, cols: Int, mapped base: UnsafeRawPointer, dtype: ModelVariable.DType, level: KernelLevel) {
        let b = SharedPointer(base.assumingMemoryBound(to: UInt8.self)), size = dtype.itemSize
        self.init(rows: rows, cols: cols, level: level) { r, scratch in
            ModelBinary.widen(UnsafeRawPointer(b.raw + r * cols * size), dtype: dtype, count: cols, into: scratch, level: level)
            return UnsafePointer(scratch)
        }
    }

    private init(rows: Int, cols: Int, values: [Int8], scales: [Float]) {
        (self.rows, self.cols, self.values, self.scales) = (rows, cols, values, scales)
    }

    /// Quantises the rows `row(r, scratch)` returns (row r's cols Floats, in `scratch`,
    /// room for cols Floats, or elsewhere), split over the engine's threads.
    private init(rows rowCount: Int, cols k: Int, level: KernelLevel,
                 row: @Sendable (Int, UnsafeMutablePointer<Float>) -> UnsafePointer<Float>) {
        rows = rowCount
        cols = k
        var values = [Int8](repeating: 0, count: rowCount * k)
        var scales = [Float](repeating: 1, count: rowCount)
        let parts = rowCount * k >= 1 << 16 ? BLAS.threads : 1
        if rowCount > 0 && k > 0 {
            values.withUnsafeMutableBufferPointer { v in
                scales.withUnsafeMutableBufferPointer { sc in
                    let (vs, ss) = (SharedPointer(v.baseAddress!), SharedPointer(sc.baseAddress!))
                    Parallel.split(parts) { p in
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: k)
                        defer { scratch.deallocate() }
                        for r in Parallel.range(p, of: parts, count: rowCount) {
                            ds_i8_quantize_rows(level.cValue, row(r, scratch), 1, Int32(k), Int32(k), vs.raw + r * k,
                                                Int32(k), ss.raw + r, Int32(DS_I8_WEIGHTS))
                        }
                    }
                }
            }
        }
        self.values = values
        self.scales = scales
    }
}

/// y = x · Wᵀ + b: through the layer's packed copy when it has one (int8 or bfloat16
/// products, any number of rows; 16-bit activations for the int8 output projection),
/// else through the mapped file's weights, else in float32.
func linear(_ x: Matrix, _ layer: LinearWeights) -> Matrix {
    if let packed = layer.packed {
        return layer.wideActivations ? packed.applyWide(x, bias: layer.b, threads: BLAS.threads)
            : packed.apply(x, bias: layer.b, threads: BLAS.threads)
    }
    if let mapped = layer.mapped {
        precondition(x.cols == mapped.cols, "linear: x.cols \(x.cols) != w.cols \(mapped.cols)")
        // A decoding step reads float16 rows as they are; anything else (and a CPU
        // without AVX2) multiplies with the whole matrix widened.
        if mapped.element == .float16, x.rows <= SmallRowsLinear.maxBlockedRows, CPUFeatures.avx2FMA {
            return linear(x, float16: mapped.base.assumingMemoryBound(to: Float16.self), outs: mapped.rows, layer.b)
        }
        return mapped.withFloats(threads: BLAS.threads) { linear(x, weights: $0, outs: mapped.rows, layer.b) }
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
