import Foundation
import Whisper

/// The speech chunks' samples, cut out of a stream of the whole signal: what
/// faster-whisper's `collect_chunks` (with no maximum duration) concatenates and transcribes.
///
/// Exists so the transcription pass can stream: samples of the original timeline go in
/// in any slices, the samples inside the chunks come out in order.
public struct SpeechFilter: Sendable {
    public let chunks: [SpeechChunk]
    /// The original-timeline sample the next slice starts at.
    public private(set) var position = 0
    private var next = 0

    public init(chunks: [SpeechChunk]) { self.chunks = chunks }

    /// A filter whose first slice starts at original sample `position` (a resumed job's seek).
    public init(chunks: [SpeechChunk], from position: Int) {
        self.chunks = chunks
        self.position = position
        next = chunks.firstIndex { $0.end > position } ?? chunks.count
    }

    /// The samples of `slice` (which follows the previous slices) that lie in a chunk.
    public mutating func keep(_ slice: [Float]) -> [Float] {
        var out: [Float] = []
        let start = position, end = position + slice.count
        var i = next
        while i < chunks.count && chunks[i].start < end {
            let lo = max(chunks[i].start, start), hi = min(chunks[i].end, end)
            if lo < hi { out += slice[(lo - start)..<(hi - start)] }
            if chunks[i].end <= end { i += 1 } else { break }
        }
        next = i
        position = end
        return out
    }

    /// How many samples the chunks hold in all.
    public var speechSamples: Int { chunks.reduce(0) { $0 + max(0, $1.end - $1.start) } }
}

/// faster-whisper's `SpeechTimestampsMap`: from a time in the concatenated speech back
/// to the original timeline, rounded to 2 decimals as Python's `round` does.
///
/// Exists so segment and word timestamps of a VAD-filtered transcription are mapped
/// exactly as faster-whisper's `restore_speech_timestamps` maps them.
public struct SpeechTimestampsMap: Sendable {
    let chunkEndSample: [Int]
    let totalSilenceBefore: [Double]
    let sampleRate: Int

    public init(chunks: [SpeechChunk], sampleRate: Int = SpeechTimestamps.sampleRate) {
        var ends: [Int] = [], silences: [Double] = []
        var previousEnd = 0, silent = 0
        for c in chunks {
            silent += c.start - previousEnd
            previousEnd = c.end
            ends.append(c.end - silent)
            silences.append(Double(silent) / Double(sampleRate))
        }
        chunkEndSample = ends
        totalSilenceBefore = silences
        self.sampleRate = sampleRate
    }

    /// The original time of `time`, in chunk `chunkIndex` (found from the time when nil).
    public func originalTime(_ time: Double, chunkIndex: Int? = nil, isEnd: Bool = false) -> Double {
        guard !totalSilenceBefore.isEmpty else { return time }
        let i = chunkIndex ?? self.chunkIndex(time, isEnd: isEnd)
        return pythonRound2(totalSilenceBefore[i] + time)
    }

    /// The chunk a time falls in: a chunk's exact end belongs to it when `isEnd`, else to the next.
    public func chunkIndex(_ time: Double, isEnd: Bool = false) -> Int {
        let product = time * Double(sampleRate)
        let sample = product.isFinite && abs(product) < 9e18 ? Int(product) : 0
        if isEnd, let i = chunkEndSample.firstIndex(of: sample) { return i }
        // bisect.bisect_right
        var lo = 0, hi = chunkEndSample.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sample < chunkEndSample[mid] { hi = mid } else { lo = mid + 1 }
        }
        return min(lo, chunkEndSample.count - 1)
    }
}

/// Python's `round(x, 2)` (`PythonRounding`).
func pythonRound2(_ x: Double) -> Double { PythonRounding.round(x, digits: 2) }
