/// The working sample format libswresample is told to resample in, so that FFmpeg 5.1's
/// library (Debian's) gives the samples of the one PyAV bundles (FFmpeg 8.1), which is
/// what faster-whisper decodes with.
///
/// Exists because libswresample's own choice changed between those releases: 5.1
/// resamples 16-bit input in 16-bit integers, 8.1 in float, and the two outputs differ by
/// up to 3 LSB in a few percent of the samples. Every other choice is the same in both
/// (measured over the ten input sample formats, 1 to 8 channels and 8 to 96 kHz, with
/// libswresample driven directly: identical output once 16-bit input is resampled in
/// float; Tests/MediaDecodingTests/make-pyav-goldens.py checks the whole decode).
/// Sample formats are FFmpeg's names (`av_get_sample_fmt_name`), so the policy is plain Swift.
enum ResampleFormatPolicy {
    /// The internal format to ask for (an FFmpeg sample format name), or nil to leave
    /// libswresample's own choice.
    static func internalFormat(input: String, inputRate: Int, outputRate: Int) -> String? {
        guard inputRate != outputRate, input == "s16" || input == "s16p" else { return nil }
        return "fltp"
    }
}
