import Testing
@testable import VoiceActivity

/// The batch's blocks are spread over the threads, and the LSTM runs alongside the encoding:
/// the probabilities must be the same to the bit whatever the number of threads.
@Suite struct VADThreadsTests {
    @Test func probabilitiesDoNotDependOnTheThreads() throws {
        let weights = try Model.weights.get()
        let goldens = try Goldens.load()
        let input = try #require(goldens.inputs.first { $0.name == "long-01min" })
        let audio = try samples(of: input)
        var results: [[Float]] = []
        for threads in [1, 2, 3, 5] {
            var d = VoiceActivityDetector(weights: weights)
            d.threads = threads
            // Slices of 10,000 samples: batches of 1024 windows and more, and a partial block.
            var p: [Float] = []
            for at in stride(from: 0, to: audio.count, by: 10_000) { p += d.append(Array(audio[at..<min(audio.count, at + 10_000)])) }
            p += d.finish()
            results.append(p)
        }
        #expect(results[0].count == input.probabilities.count)
        for (i, r) in results.enumerated().dropFirst() { #expect(r == results[0], "threads run \(i) differs from one thread") }
        var worst: Float = 0
        for (a, b) in zip(results[0], input.probabilities) { worst = max(worst, abs(a - b)) }
        #expect(worst < 1e-4)
    }
}
