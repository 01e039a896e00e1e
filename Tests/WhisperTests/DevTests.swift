import Foundation
import Testing
@testable import Whisper

@Test func devClipA() throws {
    guard let p = ProcessInfo.processInfo.environment["DEV_WAV"] else { return }
    let m = try Fixtures.model(ProcessInfo.processInfo.environment["DEV_MODEL"] ?? "tiny.en")
    let a = try WAV.read(p)
    var t = Date()
    let (full, g) = m.spectrogram.full(samples: a.samples)
    print("features s", Date().timeIntervalSince(t), "frames", full.frameCount, "G", g)
    let content = LogMelSpectrogram.contentFrames(samples: a.samples.count)
    let w = MelWindow(startFrame: 0, features: full.features.columns(0, min(3000, content)))
    for _ in 0..<2 {
        t = Date()
        _ = m.encode(w)
        print("encode s", Date().timeIntervalSince(t))
    }
    let enc = m.encode(w)
    t = Date()
    let cross = m.crossAttentionCache(enc)
    print("cross s", Date().timeIntervalSince(t))
    var opts = DecodingOptions()
    for beam in [5, 1] {
        opts.beamSize = beam
        var rng = WhisperRNG(seed: 1)
        let t1 = Date()
        let r = m.generate(cross: cross, prompt: m.prompt(previous: []), temperature: 0, options: opts, rng: &rng)
        print("beam", beam, "s", Date().timeIntervalSince(t1), "tokens", r.tokens.count, r.avgLogprob, m.tokenizer.decode(r.tokens))
    }
}
