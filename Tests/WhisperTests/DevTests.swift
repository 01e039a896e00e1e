import Foundation
import Testing
@testable import Whisper

@Test func devClipA() throws {
    guard let p = ProcessInfo.processInfo.environment["DEV_WAV"] else { return }
    let m = try Fixtures.model(ProcessInfo.processInfo.environment["DEV_MODEL"] ?? "tiny.en")
    let a = try WAV.read(p)
    let (full, g) = m.spectrogram.full(samples: a.samples)
    print("frames", full.frameCount, "G", g, "max", full.features.storage.max()!)
    print("frame0", (0..<5).map { full.features[$0, 0] }, "f100", (0..<5).map { full.features[$0, 100] })
    let content = LogMelSpectrogram.contentFrames(samples: a.samples.count)
    let w = MelWindow(startFrame: 0, features: full.features.columns(0, min(3000, content)))
    let t0 = Date()
    let enc = m.encode(w)
    print("encode s", Date().timeIntervalSince(t0))
    print("enc0", enc.states.row(0)[0..<5], "enc100", enc.states.row(100)[0..<5])
    var opts = DecodingOptions()
    for beam in [5, 1] {
        opts.beamSize = beam
        var rng = WhisperRNG(seed: 1)
        let t1 = Date()
        let r = m.generate(cross: m.crossAttentionCache(enc), prompt: m.prompt(previous: []), temperature: 0, options: opts, rng: &rng)
        print("beam", beam, "s", Date().timeIntervalSince(t1), r.tokens, r.avgLogprob, r.noSpeechProb, m.tokenizer.decode(r.tokens))
    }
}
