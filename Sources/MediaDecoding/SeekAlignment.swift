/// Keeps a decode that started after a demuxer seek in phase with a decode from the start.
///
/// Exists because a resampler's output depends on where its input starts: after a seek,
/// decoding must begin at an input sample that maps to a whole output sample index, or
/// the samples differ from those a decode from the start gives. This needs the input time
/// of output sample 0 (the origin, noted on the first packet of a decode from the start)
/// and the timestamp of the first frame after the seek. Pure arithmetic: the decoder does
/// the I/O.
struct SeekAlignment: Sendable {
    /// Input time (s) of the first output sample of a decode from the start; nil if unknown.
    private(set) var originSeconds: Double?
    /// The next packet read starts a decode from the start (so it fixes the origin).
    private(set) var awaitsFirstPacket = true
    /// A demuxer seek happened and no frame has been aligned yet.
    private(set) var isAligning = false
    /// The timestamps after the seek were unusable: decode from the start instead.
    private(set) var failed = false
    private var untimedFrames = 0

    /// Frames without a timestamp after which alignment gives up (Ogg times only the last
    /// packet of a page, so a few untimed frames are normal).
    static let maxUntimedFrames = 256

    /// What to do with a decoded frame while aligning.
    enum Step: Equatable {
        /// The frame lies wholly before the alignment point (or has no timestamp): skip it.
        case skipFrame
        /// Resample the frame from input sample `offset`; its first output sample has index `outputIndex`.
        case start(offset: Int, outputIndex: Int)
        /// Alignment is impossible: decode from the start.
        case fail
    }

    /// Notes the first packet of a decode from the start: its timestamp (s) plus the
    /// samples the decoder is told to skip (encoder delay) is the input time of output sample 0.
    mutating func noteFirstPacket(timestampSeconds: Double?, skippedSamples: Int, codecRate: Double) {
        awaitsFirstPacket = false
        guard let t = timestampSeconds, codecRate > 0 else { return }
        originSeconds = t + Double(skippedSamples) / codecRate
    }

    /// A demuxer seek succeeded: the next timed frame decides the phase.
    mutating func beginAfterSeek() {
        isAligning = true
        failed = false
        untimedFrames = 0
    }

    /// Decoding restarts from the beginning of the file (the origin is noted again if unknown).
    mutating func restartFromStart() {
        isAligning = false
        failed = false
        awaitsFirstPacket = originSeconds == nil
    }

    /// Where resampling must begin in a frame after the seek: the first input sample that
    /// maps to a whole output sample index, which must not lie after `target`.
    ///
    /// - Parameters:
    ///   - frameSeconds: the frame's timestamp in seconds (nil if it has none).
    ///   - frameRate: the frame's sample rate; `frameSamples` its length.
    ///   - outputRate: the output sample rate.
    mutating func align(frameSeconds: Double?, frameRate: Int, frameSamples: Int, outputRate: Int, target: Int) -> Step {
        guard let t = frameSeconds, let origin = originSeconds else {
            untimedFrames += 1
            if untimedFrames > Self.maxUntimedFrames { isAligning = false; failed = true; return .fail }
            return .skipFrame
        }
        let k0 = Int(((t - origin) * Double(frameRate)).rounded())
        let g = gcd(frameRate, outputRate)
        let m = frameRate / g, n = outputRate / g
        let a = k0 <= 0 ? 0 : ((k0 + m - 1) / m) * m
        let offset = a - k0
        if offset >= frameSamples { return .skipFrame }
        isAligning = false
        let outputIndex = (a / m) * n
        if outputIndex > target {
            // Landed after the target (imprecise demuxer seek).
            failed = true
            return .fail
        }
        return .start(offset: offset, outputIndex: outputIndex)
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return max(a, 1)
}
