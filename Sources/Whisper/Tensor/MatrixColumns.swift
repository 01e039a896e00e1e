extension Matrix {
    /// Columns [c0, c0+n) of every row as a new matrix.
    public func columns(_ c0: Int, _ n: Int) -> Matrix {
        var out = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for c in 0..<n { out[r * n + c] = storage[r * cols + c0 + c] }
        }
        return Matrix(rows: rows, cols: n, storage: out)
    }

    /// The matrices side by side (all with the rows of the first).
    public init(concatenatingColumns parts: [Matrix]) {
        let rows = parts.first?.rows ?? 0
        let cols = parts.reduce(0) { $0 + ($1.rows == rows ? $1.cols : 0) }
        var out = [Float](repeating: 0, count: rows * cols)
        var c0 = 0
        for part in parts where part.rows == rows {
            for r in 0..<rows {
                for c in 0..<part.cols { out[r * cols + c0 + c] = part.storage[r * part.cols + c] }
            }
            c0 += part.cols
        }
        self.init(rows: rows, cols: cols, storage: out)
    }
}
