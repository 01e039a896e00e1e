import Foundation
import Testing
@testable import Whisper

/// The 128-bin filter bank (large-v3 and its descendants) against faster-whisper's
/// `FeatureExtractor.get_mel_filters(16000, 400, 128)`, cast to float32 as it does; the
/// reference values were computed with numpy from faster-whisper 1.2's feature_extractor.py.
struct MelFilterTests {
    /// First and last nonzero FFT bin of each of the 128 filters.
    static let firstBin: [Int] = [1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 8, 8, 9, 9, 10, 10, 11, 12, 12, 13, 13, 14, 15, 15, 16, 16, 17, 17, 18, 19, 19, 20, 20, 21, 22, 22, 23, 23, 24, 24, 25, 26, 26, 27, 28, 28, 29, 30, 30, 31, 32, 32, 33, 34, 35, 36, 37, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 48, 49, 50, 51, 52, 54, 55, 56, 58, 59, 60, 62, 63, 65, 66, 68, 70, 71, 73, 75, 77, 79, 80, 82, 84, 86, 89, 91, 93, 95, 98, 100, 102, 105, 107, 110, 113, 115, 118, 121, 124, 127, 130, 133, 136, 140, 143, 147, 150, 154, 158, 161, 165, 169, 174, 178, 182, 187, 191]
    static let lastBin: [Int] = [1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 8, 9, 9, 10, 11, 11, 12, 12, 13, 14, 14, 15, 15, 16, 16, 17, 18, 18, 19, 19, 20, 21, 21, 22, 22, 23, 23, 24, 25, 25, 26, 27, 27, 28, 29, 29, 30, 31, 31, 32, 33, 34, 35, 36, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 47, 48, 49, 50, 51, 53, 54, 55, 57, 58, 59, 61, 62, 64, 65, 67, 69, 70, 72, 74, 76, 78, 79, 81, 83, 85, 88, 90, 92, 94, 97, 99, 101, 104, 106, 109, 112, 114, 117, 120, 123, 126, 129, 132, 135, 139, 142, 146, 149, 153, 157, 160, 164, 168, 173, 177, 181, 186, 190, 195, 199]
    /// The peak of filters 0, 16, …, 112.
    static let peaks: [Float] = [0.012373986653983593, 0.038206759840250015, 0.021493567153811455, 0.032844990491867065, 0.018091518431901932, 0.014940546825528145, 0.008922961540520191, 0.007572650909423828]

    @Test func filterBank128MatchesFasterWhisper() {
        let f = LogMelSpectrogram.melFilters(nMels: 128)
        #expect(f.rows == 128 && f.cols == 201)
        for m in 0..<128 {
            let support = (0..<201).filter { f[m, $0] != 0 }
            #expect(support.first == Self.firstBin[m] && support.last == Self.lastBin[m], "filter \(m): bins \(support)")
        }
        for (i, peak) in Self.peaks.enumerated() {
            let got = (0..<201).map { f[16 * i, $0] }.max()!
            #expect(abs(got - peak) <= 1e-6 * peak, "filter \(16 * i): peak \(got), faster-whisper \(peak)")
        }
        let sum = f.storage.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - 3.1909855198109653) < 1e-6)
    }

    @Test func spectrogramTakesTheModelsBins() {
        let mel = LogMelSpectrogram(nMels: 128)
        let x = (0..<16000).map { Float(0.5 * sin(2 * Double.pi * 440 * Double($0) / 16000)) }
        #expect(mel.full(samples: x).features.nMels == 128)
    }
}
