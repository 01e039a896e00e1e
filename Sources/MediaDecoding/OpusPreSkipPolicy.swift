/// How many samples an Opus decoder drops at the start of the stream, chosen as the FFmpeg
/// PyAV bundles (8.1, what faster-whisper decodes with) drops them.
///
/// Exists because the two FFmpeg releases disagree on Matroska/WebM Opus whose track
/// declares a rate below 48 kHz (what ffmpeg writes when it encodes 16 or 24 kHz audio):
/// the demuxer of both converts the track's CodecDelay to samples at the track's rate
/// (`initial_padding`, 104 for 6.5 ms at 16 kHz), and 8.1 drops that many, while 5.1's
/// decoder drops the OpusHead pre-skip (312, at 48 kHz). Writing the container's figure into
/// the header the decoder is opened with makes 5.1 keep the samples 8.1 keeps. Ogg and MP4
/// carry the same figure in both places, so nothing changes there. Applied to
/// `.s16Quantized` output only: `.float32` stays what the ffmpeg command (5.1) prints.
enum OpusPreSkipPolicy {
    /// The pre-skip to write into the OpusHead, or nil to leave it as it is.
    /// - Parameters:
    ///   - headerPreSkip: the pre-skip of the stream's OpusHead (48 kHz samples).
    ///   - containerPadding: the samples the demuxer says the stream starts with
    ///     (`AVCodecParameters.initial_padding`; 0 when it says nothing).
    static func preSkip(headerPreSkip: Int, containerPadding: Int) -> Int? {
        guard containerPadding > 0, containerPadding <= Int(UInt16.max), containerPadding != headerPreSkip else { return nil }
        return containerPadding
    }
}
