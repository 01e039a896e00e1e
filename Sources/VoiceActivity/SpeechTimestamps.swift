/// faster-whisper's `get_speech_timestamps` after the model has run: window
/// probabilities in, speech chunks (in samples) out.
///
/// Exists as a pure function so it can be checked against faster-whisper's output on
/// the same probabilities, branch by branch. The arithmetic follows the Python's types:
/// sample positions are integers, the derived limits (pads, minimum lengths) are floats
/// and truncated where the Python calls `int()`; probabilities are compared in float32,
/// as NumPy 2 compares a float32 array's items with a Python float.
public enum SpeechTimestamps {
    public static let sampleRate = 16000
    static let window = VoiceActivityDetector.windowSamples

    public static func chunks(probabilities: [Float], sampleCount: Int, options: VADOptions) -> [SpeechChunk] {
        let rate = Double(sampleRate)
        let threshold = Float(options.threshold)
        let negThreshold = Float(options.negThreshold ?? max(options.threshold - 0.15, 0.01))
        let minSpeech = rate * Double(options.minSpeechDurationMs) / 1000
        let pad = rate * Double(options.speechPadMs) / 1000
        let maxSpeech = rate * options.maxSpeechDurationS - Double(window) - 2 * pad
        let minSilence = rate * Double(options.minSilenceDurationMs) / 1000
        let minSilenceAtMaxSpeech = rate * 98 / 1000

        var triggered = false
        var speeches: [SpeechChunk] = []
        var currentStart: Int? = nil
        var tempEnd = 0, prevEnd = 0, nextStart = 0

        for (i, p) in probabilities.enumerated() {
            let position = window * i
            if p >= threshold && tempEnd != 0 {
                tempEnd = 0
                if nextStart < prevEnd { nextStart = position }
            }
            if p >= threshold && !triggered {
                triggered = true
                currentStart = position
                continue
            }
            if triggered, let start = currentStart, Double(position - start) > maxSpeech {
                if prevEnd != 0 {
                    speeches.append(SpeechChunk(start: start, end: prevEnd))
                    currentStart = nil
                    // Silence was reached (below neg_threshold) and speech has not resumed.
                    if nextStart < prevEnd { triggered = false } else { currentStart = nextStart }
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                } else {
                    speeches.append(SpeechChunk(start: start, end: position))
                    currentStart = nil
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                    triggered = false
                    continue
                }
            }
            if p < negThreshold && triggered {
                if tempEnd == 0 { tempEnd = position }
                // A silence this long may become the split point of an over-long chunk.
                if Double(position - tempEnd) > minSilenceAtMaxSpeech { prevEnd = tempEnd }
                if Double(position - tempEnd) < minSilence { continue }
                if let start = currentStart, Double(tempEnd - start) > minSpeech {
                    speeches.append(SpeechChunk(start: start, end: tempEnd))
                }
                currentStart = nil
                prevEnd = 0; nextStart = 0; tempEnd = 0
                triggered = false
                continue
            }
        }
        if let start = currentStart, Double(sampleCount - start) > minSpeech {
            speeches.append(SpeechChunk(start: start, end: sampleCount))
        }
        return padded(speeches, sampleCount: sampleCount, pad: pad)
    }

    /// Pads each chunk by `pad` samples, or splits a shorter gap between neighbours evenly.
    static func padded(_ input: [SpeechChunk], sampleCount: Int, pad: Double) -> [SpeechChunk] {
        var s = input
        for i in s.indices {
            if i == 0 { s[i].start = Int(max(0, Double(s[i].start) - pad)) }
            if i != s.count - 1 {
                let silence = s[i + 1].start - s[i].end
                if Double(silence) < 2 * pad {
                    let half = floorDivide(silence, 2)
                    s[i].end += half
                    s[i + 1].start = max(0, s[i + 1].start - half)
                } else {
                    s[i].end = Int(min(Double(sampleCount), Double(s[i].end) + pad))
                    s[i + 1].start = Int(max(0, Double(s[i + 1].start) - pad))
                }
            } else {
                s[i].end = Int(min(Double(sampleCount), Double(s[i].end) + pad))
            }
        }
        return s
    }

    /// Python's `//` on integers (rounds toward −∞).
    static func floorDivide(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
