@testable import MediaDecoding
import Testing

struct ResampleFormatPolicyTests {
    @Test("16-bit input that is resampled is resampled in float, as FFmpeg 8.1's libswresample does")
    func sixteenBitResampledInFloat() {
        for input in ["s16", "s16p"] {
            for rate in [8000, 22050, 44100, 48000] {
                #expect(ResampleFormatPolicy.internalFormat(input: input, inputRate: rate, outputRate: 16000) == "fltp")
            }
        }
    }

    @Test("libswresample keeps its own choice where FFmpeg 5.1 and 8.1 agree")
    func otherwiseLibswresampleChooses() {
        // No resampling (16-bit down-mix stays in 16-bit in both releases).
        #expect(ResampleFormatPolicy.internalFormat(input: "s16", inputRate: 16000, outputRate: 16000) == nil)
        #expect(ResampleFormatPolicy.internalFormat(input: "s16p", inputRate: 16000, outputRate: 16000) == nil)
        // 8-bit input is resampled in 16-bit by both; wider input in float or double by both.
        for input in ["u8", "u8p", "s32", "s32p", "flt", "fltp", "dbl", "dblp", "s64", "s64p"] {
            #expect(ResampleFormatPolicy.internalFormat(input: input, inputRate: 44100, outputRate: 16000) == nil, "\(input)")
        }
    }
}

struct OpusPreSkipPolicyTests {
    @Test("the container's start padding replaces a different OpusHead pre-skip")
    func containerPaddingWins() {
        // Matroska Opus encoded from 16 and 24 kHz: CodecDelay 6.5 ms at the track's rate.
        #expect(OpusPreSkipPolicy.preSkip(headerPreSkip: 312, containerPadding: 104) == 104)
        #expect(OpusPreSkipPolicy.preSkip(headerPreSkip: 312, containerPadding: 156) == 156)
    }

    @Test("the header stays when the container agrees or says nothing")
    func headerKept() {
        #expect(OpusPreSkipPolicy.preSkip(headerPreSkip: 312, containerPadding: 312) == nil)
        #expect(OpusPreSkipPolicy.preSkip(headerPreSkip: 312, containerPadding: 0) == nil)
        #expect(OpusPreSkipPolicy.preSkip(headerPreSkip: 312, containerPadding: -5) == nil)
        #expect(OpusPreSkipPolicy.preSkip(headerPreSkip: 312, containerPadding: 70_000) == nil, "cannot be written in 16 bits")
    }
}
