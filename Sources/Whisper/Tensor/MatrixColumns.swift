extension Matrix {
    /// Columns [c0, c0+n) of every row as a new matrix.
    func columns(_ c0: Int, _ n: Int) -> Matrix {
        var out = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for c in 0..<n { out[r * n + c] = storage[r * cols + c0 + c] }
        }
        return Matrix(rows: rows, cols: n, storage: out)
    }
}
