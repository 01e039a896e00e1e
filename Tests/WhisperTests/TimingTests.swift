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

@Test(.enabled(if: ProcessInfo.processInfo.environment["DROPSCRIBE_TIMING"] != nil && Fixtures.hasModel("tiny.en")))
func timingDecoderParts() throws {
    let model = try Fixtures.model("tiny.en")
    let x = try WAV.read(Fixtures.corpusDir + "/clips/clip-02.wav").samples
    let (w, _) = window0(model, x)
    let cross = model.crossAttentionCache(model.encode(w))
    func time(_ label: String, _ n: Int, _ f: () -> Void) {
        let t = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<n { f() }
        print("PART \(label): \(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6 / Double(n)) ms")
    }
    var cache = model.makeCache(batch: 1)
    _ = model.decoderForward(tokens: Array(repeating: 50257, count: 20), count: 20, cache: &cache, cross: cross)
    cache.reorder([0, 0, 0, 0, 0])
    let h5 = Matrix(zeros: 5, 384), h1 = Matrix(zeros: 1, 384)
    time("logits M=5", 10) { _ = model.logits(h5) }
    time("logits M=1", 10) { _ = model.logits(h1) }
    time("forward B=5 (no logits)", 10) {
        var c = cache
        _ = model.decoderForward(tokens: [1, 2, 3, 4, 5], count: 1, cache: &c, cross: cross)
    }
    time("reorder B=5", 10) { cache.reorder([1, 0, 2, 4, 3]) }
    let row = [Float](repeating: 0.5, count: 51864)
    time("logSoftmax row", 50) { _ = LogitFilters.logSoftmax(row) }
    time("process row", 50) {
        var r = row
        model.processLogits(&r, step: 3, generated: [50363, 383, 2068], timestamps: true, options: DecodingOptions(), suppress: model.config.suppressIds)
    }
    time("topK row", 50) {
        var top: [BeamCandidate] = []
        SearchAlgorithms.insertTopK(&top, k: 10, values: row, add: 0, beam: 0)
    }
}

@Test(.enabled(if: ProcessInfo.processInfo.environment["DROPSCRIBE_TIMING"] != nil && Fixtures.hasModel("tiny.en")))
func timingLoadParts() throws {
    let path = Fixtures.modelPath("tiny.en") + "/model.bin"
    func time<T>(_ label: String, _ f: () throws -> T) rethrows -> T {
        let t = DispatchTime.now().uptimeNanoseconds
        let r = try f()
        print("LOAD \(label): \(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6) ms")
        return r
    }
    let bytes = try time("read") { try WhisperModel.readBytes(path) }
    let bin = try time("parse") { try ModelBinary.parse(bytes, path: path) }
    _ = try time("weights") { try WeightBuilder(bin: bin, path: path).build() }
    _ = try time("vocab") { try WhisperModel.readVocabulary(Fixtures.modelPath("tiny.en") + "/vocabulary.txt") }
    let merges = try time("merges") { try WhisperModel.readMerges(Fixtures.modelPath("tiny.en") + "/tokenizer.json") }
    let vocab = try WhisperModel.readVocabulary(Fixtures.modelPath("tiny.en") + "/vocabulary.txt")
    _ = try time("tokenizer") { try Tokenizer(vocabulary: vocab, merges: merges) }
    _ = time("spectrogram") { LogMelSpectrogram(nMels: 80) }
}
