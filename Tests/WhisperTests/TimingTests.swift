import Foundation
import Testing
@testable import Whisper

/// Prints load / feature / encoder / decoder timings for tiny.en (no assertions on time).
/// Run: DROPSCRIBE_TIMING=1 swift test -c release --filter timingTinyEn
@Test(.enabled(if: ProcessInfo.processInfo.environment["DROPSCRIBE_TIMING"] != nil && Fixtures.hasModel("tiny.en")))
func timingTinyEn() throws {
    func time<T>(_ f: () throws -> T) rethrows -> (T, Double) {
        let t = DispatchTime.now().uptimeNanoseconds
        let r = try f()
        return (r, Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
    }
    let threads = Int(ProcessInfo.processInfo.environment["DROPSCRIBE_THREADS"] ?? "0") ?? 0
    var loads: [Double] = []
    var model: WhisperModel!
    for _ in 0..<3 {
        let (m, s) = try time { try WhisperModel.load(directory: Fixtures.modelPath("tiny.en"), threads: threads) }
        model = m
        loads.append(s)
    }
    let clip = Fixtures.corpusDir + "/clips/clip-02.wav"
    let x = try WAV.read(clip).samples
    let ((w, _), featS) = time { window0(model, x) }
    var encS: [Double] = [], crossS: [Double] = [], beamS: [Double] = [], greedyS: [Double] = []
    var tokens = 0
    for _ in 0..<3 {
        let (enc, e) = time { model.encode(w) }
        encS.append(e)
        let (cross, c) = time { model.crossAttentionCache(enc) }
        crossS.append(c)
        var o = DecodingOptions()
        var rng = WhisperRNG(seed: 0)
        let (r, b) = time { model.generate(cross: cross, prompt: model.prompt(previous: []), temperature: 0, options: o, rng: &rng) }
        beamS.append(b)
        tokens = r.tokens.count
        o.beamSize = 1
        let (_, g) = time { model.generate(cross: cross, prompt: model.prompt(previous: []), temperature: 0, options: o, rng: &rng) }
        greedyS.append(g)
    }
    func fmt(_ a: [Double]) -> String { a.map { String(format: "%.3f", $0) }.joined(separator: " ") }
    print("""
    TIMING tiny.en (threads \(threads == 0 ? "default" : String(threads)); \(x.count) samples, \(w.frameCount) frames, \(tokens) tokens)
      load s:            \(fmt(loads))
      features s:        \(String(format: "%.3f", featS))
      encoder s/window:  \(fmt(encS))
      cross K/V s:       \(fmt(crossS))
      beam5 decode s:    \(fmt(beamS))
      greedy decode s:   \(fmt(greedyS))
    """)
}
