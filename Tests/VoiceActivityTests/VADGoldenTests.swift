import Foundation
import Testing
import VoiceActivity

/// Silero VAD v6 in Swift against onnxruntime run by faster-whisper 1.2.1 (goldens by make-vad-goldens.py).
@Suite(.timeLimit(.minutes(30)))
struct VADGoldenTests {
    @Test func probabilitiesMatchOnnxruntimeAndTimestampsMatchFasterWhisper() throws {
        let weights = try Model.weights.get()
        let goldens = try Goldens.load()
        #expect(goldens.inputs.count >= 7)
        for input in goldens.inputs {
            let audio = try samples(of: input)
            try #require(audio.count == input.samples, "\(input.name): decoded \(audio.count) samples, the script had \(input.samples)")
            let cpu = threadCPUSeconds()
            let p = VoiceActivityDetector.probabilities(audio, weights: weights)
            let elapsed = String(format: "%.3f s CPU", threadCPUSeconds() - cpu)
            try #require(p.count == input.probabilities.count, "\(input.name): \(p.count) windows, expected \(input.probabilities.count)")
            var worst: Float = 0
            for (a, b) in zip(p, input.probabilities) { worst = max(worst, abs(a - b)) }
            #expect(worst < 1e-4, "\(input.name): largest difference from onnxruntime \(worst), VAD \(elapsed)")
            print("VAD parity: \(input.name): \(p.count) windows, largest difference from onnxruntime \(worst), VAD \(elapsed)")
            let defaults = SpeechTimestamps.chunks(probabilities: p, sampleCount: audio.count, options: VADOptions())
            #expect(pairs(defaults) == input.timestamps["default"], "\(input.name): timestamps from Swift's probabilities")
        }
    }

    /// The timestamp function alone, on onnxruntime's own probabilities, for every option set.
    @Test func timestampsFromGoldenProbabilitiesMatchForEveryOptionSet() throws {
        let goldens = try Goldens.load()
        var compared = 0
        for input in goldens.inputs {
            for (key, expected) in input.timestamps {
                let chunks = SpeechTimestamps.chunks(probabilities: input.probabilities, sampleCount: input.samples,
                                                     options: try goldens.options(key))
                #expect(pairs(chunks) == expected, "\(input.name), options \(key)")
                compared += expected.count
            }
        }
        #expect(compared > 300)
    }

    /// Streaming in uneven slices gives the probabilities of one call on the whole signal (up to
    /// the rounding of OpenBLAS's products, whose blocking depends on how many windows a batch has).
    @Test func streamingInSlicesEqualsWholeSignal() throws {
        let weights = try Model.weights.get()
        let goldens = try Goldens.load()
        let input = try #require(goldens.inputs.first { $0.name == "long-01min" })
        let audio = try samples(of: input)
        let whole = VoiceActivityDetector.probabilities(audio, weights: weights)
        var d = VoiceActivityDetector(weights: weights)
        var streamed: [Float] = []
        var at = 0, step = 1
        while at < audio.count {
            let end = min(audio.count, at + step)
            streamed += d.append(Array(audio[at..<end]))
            at = end
            step = step * 3 + 7
        }
        streamed += d.finish()
        try #require(streamed.count == whole.count)
        let worst = zip(streamed, whole).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5, "streamed probabilities differ from the whole signal's by up to \(worst)")
    }
}

/// CPU time of the calling thread (the VAD runs on it alone): a cost figure that other
/// processes on the machine do not inflate.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
