/// Eight Floats from p, any alignment (the kernels' one way to read a vector).
@inline(__always)
func vectorLoad(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// The eight lanes of v to p, any alignment.
@inline(__always)
func vectorStore(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
