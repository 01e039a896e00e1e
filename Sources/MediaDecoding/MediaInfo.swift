import Logging

/// What `AudioDecoder` found when it opened a file.
public struct MediaInfo: Sendable, Equatable {
    /// The path as given.
    public var path: String
    /// libavformat's short container name, e.g. "wav", "mp3", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm".
    public var container: String
    /// libavcodec's name of the selected audio stream's codec, e.g. "pcm_s16le", "mp3", "aac", "opus".
    public var codec: String
    /// Duration of the selected audio stream as the container declares it (else the
    /// container's duration), in seconds; nil when it does not say.
    public var duration: Double?
    /// Channels of the selected audio stream (as decoded).
    public var channels: Int
    /// Sample rate of the selected audio stream (as decoded), in Hz.
    public var sampleRate: Int
    /// Number of audio streams in the file.
    public var audioStreamCount: Int
    /// Which of them is decoded: an index among the audio streams (0 = the first audio stream).
    public var audioStream: Int

    /// The output rate, always 16 kHz.
    public static let outputSampleRate = 16_000

    /// `duration` in 16 kHz output samples (an estimate: containers can be wrong).
    public var estimatedSampleCount: Int? {
        duration.map { Int(($0 * Double(Self.outputSampleRate)).rounded()) }
    }
}

/// How output samples are produced.
public enum OutputSampleFormat: Sendable, Equatable {
    /// As faster-whisper (PyAV) does: libswresample to signed 16-bit mono 16 kHz, then
    /// divided by 32768. The default, because the Whisper engine's parity depends on it.
    /// Note libswresample normalises a down-mix matrix when the output is integer: stereo
    /// becomes (L+R)/2. Where FFmpeg 5.1 and the 8.1 PyAV bundles differ, this follows 8.1
    /// (`ResampleFormatPolicy`, `OpusPreSkipPolicy`).
    case s16Quantized
    /// As `ffmpeg -i X -ac 1 -ar 16000 -f f32le` does: libswresample straight to float.
    /// For float output libswresample does not normalise the down-mix matrix, so stereo
    /// becomes (L+R)/sqrt(2) here (this is what the ffmpeg command prints).
    case float32
}

/// Options for `AudioDecoder`.
public struct DecoderOptions: Sendable {
    /// Which audio stream to decode, as an index among the file's audio streams;
    /// nil = libavformat's best audio stream (`av_find_best_stream`).
    public var audioStream: Int?
    /// Output sample format; see `OutputSampleFormat`.
    public var sampleFormat: OutputSampleFormat
    /// Samples returned by each `next()` (the last chunk may be shorter).
    public var chunkSize: Int
    /// Deadline for each I/O operation (open, probe, read, seek), in seconds. A read that
    /// makes no progress for this long (hung mount, pipe) fails with `.timedOut`.
    public var ioTimeout: Double
    /// Consecutive decode errors after which decoding stops (with a warning).
    public var maxConsecutiveDecodeErrors: Int
    /// Seconds before a seek target where decoding restarts, so that the decoder and the
    /// resampler have settled by the target.
    public var seekPreroll: Double
    /// Where the decoder's own warnings go (truncation, skipped data); metadata `file.path` is added.
    public var logger: Logger
    /// Whether formats that read other files named inside the input (playlists, concat
    /// lists, image sequences) may be opened; see `InputFormatPolicy`. Off for the inbox.
    public var allowPlaylists: Bool
    /// Whether the path may be a symlink. Off for the inbox, where the caller resolved
    /// and checked it: the decoder then opens it with O_NOFOLLOW.
    public var followSymlinks = true

    public init(
        audioStream: Int? = nil,
        sampleFormat: OutputSampleFormat = .s16Quantized,
        chunkSize: Int = 16_000,
        ioTimeout: Double = 30,
        maxConsecutiveDecodeErrors: Int = 500,
        seekPreroll: Double = 2,
        logger: Logger = Logger(label: "dropscribe.media"),
        allowPlaylists: Bool = false
    ) {
        self.allowPlaylists = allowPlaylists
        self.audioStream = audioStream
        self.sampleFormat = sampleFormat
        self.chunkSize = max(1, chunkSize)
        self.ioTimeout = ioTimeout
        self.maxConsecutiveDecodeErrors = max(1, maxConsecutiveDecodeErrors)
        self.seekPreroll = max(0.5, seekPreroll)
        self.logger = logger
    }

    /// Default options with a logger that discards everything (tests, fuzzing).
    public static var quiet: DecoderOptions {
        DecoderOptions(logger: Logger(label: "dropscribe.media", factory: { _ in SwiftLogNoOpLogHandler() }))
    }
}
