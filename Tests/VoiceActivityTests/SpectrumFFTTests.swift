import Foundation
import Testing
@testable import VoiceActivity

/// The encoder's STFT by FFT (Silero's basis is a windowed DFT) against the product with the
/// stored basis, and the product kept for a basis of any other form.
@Suite struct SpectrumFFTTests {
    /// Eight windows (576 samples each, 512 apart: `SileroEncoder.hop`): noise, a loud tone,
    /// silence, and a step, so every bin is exercised.
    static func windows() -> [Float] {
        var x = xorshiftNoise(4 * 512, seed: 777)
        x += (0..<(2 * 512)).map { Float(0.9 * sin(Double($0) * 0.37)) }
        x += [Float](repeating: 0, count: 512)
        x += (0..<(512 + 64)).map { $0 < 300 ? -0.5 : 0.5 }
        return x
    }

    static func count(_ x: [Float]) -> Int { (x.count - 64) / 512 }

    @Test func realModelBasisIsAPeriodicHannDFT() throws {
        let weights = try Model.weights.get()
        let window = try #require(weights.window, "Silero's basis was not recognised as a windowed DFT")
        for (n, w) in window.enumerated() {
            #expect(abs(Double(w) - (0.5 - 0.5 * cos(2 * Double.pi * Double(n) / 256))) < 1e-6, "window[\(n)]")
        }
    }

    @Test func fftMagnitudesEqualTheBasisProductWithinFloatRounding() throws {
        let weights = try Model.weights.get()
        let encoder = SileroEncoder(weights: weights), x = Self.windows(), n = Self.count(x)
        let byFFT = SileroEncoder.Scratch(windows: n, fft: true), byProduct = SileroEncoder.Scratch(windows: n, fft: false)
        try #require(byFFT.fft != nil)
        x.withUnsafeBufferPointer { xp in
            encoder.magnitudes(xp.baseAddress!, windows: n, scratch: byFFT)
            encoder.magnitudes(xp.baseAddress!, windows: n, scratch: byProduct)
        }
        // Each real or imaginary part is a sum of 256 products: its rounding error in either
        // method is at most 256·ε·S (S = Σ|x[n]|, |basis| ≤ 1), the basis entries are within
        // 1e-6 of the exact windowed DFT (checked at load), and the magnitude's error is at most
        // the sum of the parts' errors.
        let epsilon = Double(Float.ulpOfOne) / 2
        var checked = 0, largest = 0.0
        for w in 0..<n {
            for t in 0..<4 {
                // Frame t + 1 of the reflect-padded window: 256 samples from t·128, the last frame's
                // final 64 reflected back from sample 574.
                let s = (0..<256).reduce(0.0) { sum, j in
                    let i = t < 3 || j < 192 ? t * 128 + j : 766 - j
                    return sum + Double(abs(x[w * 512 + i]))
                }
                let tolerance = 2 * (2 * 256 * epsilon + 1e-6) * s + 1e-30
                for c in 0..<129 {
                    let r = (w * 4 + t) * 129 + c
                    let a = Double(byFFT.a[r]), b = Double(byProduct.a[r])
                    #expect(abs(a - b) <= tolerance, "window \(w) frame \(t + 1) bin \(c): FFT \(a), product \(b)")
                    largest = max(largest, b)
                    checked += 1
                }
            }
        }
        #expect(checked == n * 4 * 129)
        #expect(largest > 10, "the product's spectrum is nearly empty: the comparison would prove nothing")
    }

    @Test func basisNotOfTheWindowedDFTFormUsesTheProduct() throws {
        let weights = try Model.weights.get()
        let basis = weights.basis
        // The imaginary rows' sign flipped (+sin): the same magnitudes, but not Silero's form.
        var flipped = basis
        for i in (129 * 256)..<flipped.count { flipped[i] = -flipped[i] }
        let other = weights.replacingBasis(flipped)
        #expect(other.window == nil)
        var nudged = basis
        nudged[5 * 256 + 17] += 1e-3
        #expect(weights.replacingBasis(nudged).window == nil)
        var broken = basis
        broken[200 * 256 + 3] = .nan
        #expect(weights.replacingBasis(broken).window == nil)
        #expect(weights.replacingBasis(basis).window == weights.window)

        let x = Self.windows(), n = Self.count(x)
        func features(_ w: SileroWeights, fft: Bool) -> [Float] {
            var out = [Float](repeating: 0, count: n * 128)
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { op in
                    SileroEncoder(weights: w).features(xp.baseAddress!, windows: n, scratch: .init(windows: n, fft: fft),
                                                       into: op.baseAddress!)
                }
            }
            return out
        }
        // Given a scratch with an FFT, the flipped basis still goes through the product: its
        // features are exactly those of the real basis's product (negation commutes with rounding).
        let productOfOther = features(other, fft: true), product = features(weights, fft: false)
        #expect(productOfOther == product)
        let viaFFT = features(weights, fft: true)
        let scale = product.reduce(Float(0)) { max($0, abs($1)) }
        #expect(scale > 0.1)
        for i in 0..<product.count {
            #expect(abs(viaFFT[i] - product[i]) <= 1e-4 * scale, "feature \(i): FFT \(viaFFT[i]), product \(product[i])")
        }
    }
}
