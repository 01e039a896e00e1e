import Foundation
import Testing
import Whisper
@testable import DropscribeCore

/// What the daemon admits a job with, from the job's settings: the prompt settings bound
/// the self-attention caches (`MemoryFootprint.selfAttentionPositions`).
@Suite(.enabled(if: Assets.available, "needs models/tiny.en"))
struct AdmissionEstimateTests {
    /// `top`: top-level keys (batch_size); `model`: [model] keys.
    static func estimate(top: String = "", _ model: String) throws -> Int64 {
        let toml = "\(top)\n[model]\npath = \"\(Assets.tinyEn)\"\n\(model)"
        return MemoryAdmission.estimatedJobBytes(config: try Configuration.parse(toml, file: "c.toml"))
    }

    /// tiny.en: 4 decoder layers 384 wide, beam 5. Sequential decoding that carries earlier
    /// text counts 448 positions per hypothesis, without it 256; a batch never carries it.
    @Test func thePromptSettingsBoundTheCaches() throws {
        let perPosition: Int64 = 5 * 4 * 2 * 384 * 4
        let conditioned = try Self.estimate("condition_on_previous_text = true")
        let unconditioned = try Self.estimate("condition_on_previous_text = false")
        #expect(conditioned - unconditioned == perPosition * (448 - 256))
        let batched = try Self.estimate(top: "batch_size = 8", "condition_on_previous_text = true")
        #expect(batched == (try Self.estimate(top: "batch_size = 8", "condition_on_previous_text = false")))
        let footprint = try MemoryFootprint.estimate(directory: Assets.tinyEn, computeType: .float32, beamSize: 5, pieces: 8,
                                                     previousText: false)
        #expect(batched == footprint.totalBytes)
        // The prompt texts make room for themselves: 100 bytes push 256 positions to 384,
        // whether they are the initial prompt or hotwords (which every window carries).
        let prompted = try Self.estimate("condition_on_previous_text = false\ninitial_prompt = \"\(String(repeating: "a", count: 100))\"")
        #expect(prompted - unconditioned == perPosition * (384 - 256))
        let hot = try Self.estimate(top: "batch_size = 8", "hotwords = \"\(String(repeating: "h", count: 60))\"\ninitial_prompt = \"\(String(repeating: "a", count: 40))\"")
        #expect(hot - batched == 8 * perPosition * (384 - 256), "eight pieces' hypotheses")
    }
}
