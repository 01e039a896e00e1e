import Foundation
import MediaDecoding
import Testing
@testable import Whisper

@Suite struct FeatureTests {
    /// The decoder and the features are separate modules with a rate each (neither imports
    /// the other); the pipeline joins them, so the two must be one number.
    @Test func theDecodersOutputRateIsTheFeaturesSampleRate() {
        #expect(MediaInfo.outputSampleRate == LogMelSpectrogram.sampleRate)
    }

    @Test func melFilterbank80() {
        let f = LogMelSpectrogram.melFilters(nMels: 80)
        #expect(f.rows == 80 && f.cols == 201)
        let sum = f.storage.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - 1.9990241) < 1e-6)
        #expect(abs(f.storage.max()! - 0.025880685) < 1e-9)
        let row0 = (0..<201).filter { f[0, $0] != 0 }
        #expect(row0 == [1])
        #expect(abs(f[0, 1] - 0.024862595) < 1e-9)
        let row79 = (0..<201).filter { f[79, $0] != 0 }
        #expect(row79 == Array(186...199))
    }

    @Test func melFilterbank128() {
        let f = LogMelSpectrogram.melFilters(nMels: 128)
        let sum = f.storage.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - 3.1909855) < 1e-6)
    }

    static func sine() -> [Float] {
        (0..<32000).map { Float(0.5 * sin(2 * Double.pi * 1000 * Double($0) / 16000)) }
    }

    @Test func sineGolden() {
        let mel = LogMelSpectrogram(nMels: 80)
        let (w, _) = mel.full(samples: Self.sine())
        #expect(w.frameCount == 201)
        #expect(abs(w.features.storage.max()! - 1.4396517) < 1e-5)
        #expect(abs(w.features.storage.min()! - -0.5603483) < 1e-5)
        let f0: [Float] = [0.79974794, 0.80039662, 0.80226672, 0.80423504, 0.80727375]
        for i in 0..<5 { #expect(abs(w.features[i, 0] - f0[i]) < 1e-4, "bin \(i)") }
        for i in 0..<5 { #expect(abs(w.features[i, 100] - -0.56034827) < 1e-5) }
    }

    @Test func zerosGiveMinusOnePointFive() {
        let mel = LogMelSpectrogram(nMels: 80)
        let (w, g) = mel.full(samples: [Float](repeating: 0, count: 16000))
        #expect(w.features.rows == 80 && w.frameCount == 101)
        #expect(g == -10)
        #expect(w.features.storage.allSatisfy { $0 == -1.5 })
    }

    /// A window's features are the same bits with 1, 2 or 3 threads: other work in the
    /// process may change the thread count between the level pass and a window (OpenBLAS's
    /// Haswell kernels round the DFT's 32 rows otherwise than two calls of 16).
    @Test func featuresDoNotDependOnTheThreadCount() {
        var rng = WhisperRNG(seed: 11)
        let x: [Float] = (0..<16000 * 5).map { _ in Float(rng.nextUnit() - 0.5) * 0.2 }
        let mel = LogMelSpectrogram(nMels: 80)
        let byThreads = BLAS.run { () -> [[Float]] in
            let saved = BLAS.threads
            defer { BLAS.setThreads(saved) }
            return [1, 2, 3].map { threads in
                BLAS.setThreads(threads)
                return mel.window(buffer: x[...], bufferStart: 0, totalSamples: x.count, startFrame: 0, frameCount: 500,
                                  globalMax: 0).features.storage
            }
        }
        #expect(byThreads[0] == byThreads[1], "1 thread against 2")
        #expect(byThreads[1] == byThreads[2], "2 threads against 3")
    }

    /// Windows built from only [160s−200, 160(s+n)+200) equal the full-file result, and the
    /// streaming accumulator's G equals the full pass's G, whatever the chunking.
    @Test func streamingMatchesFull() {
        var rng = WhisperRNG(seed: 7)
        let n = 16000 * 37 + 123
        let x: [Float] = (0..<n).map { i in
            let t = Double(i) / 16000
            let a: Double = 0.3 * sin(2 * Double.pi * 440 * t) * sin(t)
            let noise: Double = (rng.nextUnit() - 0.5) * 0.01
            let q: Double = ((a + noise) * 32768).rounded()
            return Float(q) / 32768
        }
        let mel = LogMelSpectrogram(nMels: 80)
        let (full, g) = mel.full(samples: x)
        for chunk in [1000, 4096, 77_777] {
            var acc = MelMaxAccumulator(spectrogram: mel)
            var i = 0
            while i < n { acc.feed(Array(x[i..<min(n, i + chunk)])); i += chunk }
            #expect(acc.finish() == g, "chunk \(chunk)")
        }
        let content = LogMelSpectrogram.contentFrames(samples: n)
        for s in [0, 1234, content - 2000, content - 10] {
            let count = min(3000, content - s)
            let lo = max(0, 160 * s - 200), hi = min(n, 160 * (s + count) + 200)
            let w = mel.window(buffer: x[lo..<hi], bufferStart: lo, totalSamples: n, startFrame: s, frameCount: count, globalMax: g)
            #expect(w.features == full.features.columns(s, count), "seek \(s)")
        }
    }
}
