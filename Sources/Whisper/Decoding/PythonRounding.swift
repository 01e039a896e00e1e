import Foundation

/// Python's `round(x, n)` on floats: to the nearest multiple of 10⁻ⁿ of x's exact binary
/// value, ties to even (glibc's printf rounds the exact value the same way).
///
/// Exists because faster-whisper rounds segment times (3 digits) and restored speech times
/// (2 digits) this way, and `(x * 1000).rounded() / 1000` differs from it near ties.
public enum PythonRounding {
    public static func round(_ x: Double, digits: Int) -> Double {
        guard x.isFinite, (0...17).contains(digits) else { return x }
        var buffer = [CChar](repeating: 0, count: 64)
        let n = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.\(digits)f", $0) }
        guard n > 0 && n < buffer.count else { return x }
        let text = buffer[0..<Int(n)].map { UInt8(bitPattern: $0) }
        return Double(String(decoding: text, as: UTF8.self)) ?? x
    }
}
