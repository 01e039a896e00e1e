import CFFmpeg
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Streams any audio or video file as 16 kHz mono Float samples, in chunks.
///
///     let decoder = try AudioDecoder(path: "talk.m4a")
///     while let chunk = try decoder.next() { consume(chunk) }
///
/// Memory is bounded (one chunk plus one decoded frame), whatever the file's length.
/// Not thread-safe: use one decoder from one task/thread. All libav state is freed when the
/// decoder is released.
public final class AudioDecoder {
    /// What was found when opening the file.
    public private(set) var info: MediaInfo
    /// Problems that did not stop decoding (truncation, skipped corrupt data), in order.
    /// Each is also logged at warning level.
    public private(set) var warnings: [DecodeWarning] = []
    /// Index (in 16 kHz output samples) of the next sample `next()` returns.
    public private(set) var position: Int = 0
    /// The options the decoder was opened with.
    public let options: DecoderOptions

    private let path: String
    private var logger: Logger
    private var input: LibavInput
    private let outputCap: Int

    // Decode state.
    private var draining = false          // the flush packet was sent to the decoder
    private var finished = false          // no more output will be produced
    private var haveFrame = false         // input.frame holds a decoded frame not yet resampled
    private var consecutiveErrors = 0
    private var skippedErrors = 0
    private var stopReason: String?       // set when decoding stopped before the end of the input

    private var resampler: Resampler
    private var alignment = SeekAlignment()

    // Output bookkeeping: `produced` is the output index of the next sample the resampler
    // produces; samples below `discardBefore` are dropped (seek).
    private var produced = 0
    private var discardBefore = 0
    private var pending: [Float] = []
    private var pendingStart = 0

    /// Opens `path`, probes it and decodes its first frame (so that a file with nothing
    /// decodable fails here, permanently).
    public init(path: String, options: DecoderOptions = DecoderOptions()) throws(MediaError) {
        FFmpegLog.install()
        self.path = path
        self.options = options
        var logger = options.logger
        logger[metadataKey: "file.path"] = "\(path)"
        self.logger = logger
        input = try LibavInput(path: path, options: options)
        resampler = Resampler(outputFormat: options.sampleFormat)
        var size = stat()
        let bytes = stat(path, &size) == 0 ? Int(size.st_size) : 0
        // No real codec produces more than ~200 output samples per input byte (the
        // lowest-rate speech codecs); 256/byte plus a minute bounds runaway output from
        // damaged headers (e.g. a WAV whose sample rate was zeroed to 1 kHz stays far below).
        outputCap = MediaInfo.outputSampleRate * 60 + bytes.multipliedReportingOverflow(by: 256).partialValue
        info = MediaInfo(
            path: path, container: input.containerName, codec: input.codecName,
            duration: input.declaredDuration, channels: 0, sampleRate: 0,
            audioStreamCount: input.audioStreamIndices.count, audioStream: input.selectedAudioOrdinal)
        try prime()
    }

    // MARK: Public API

    /// The next chunk of at most `options.chunkSize` samples, or nil at the end.
    ///
    /// Throws `.ioError`/`.timedOut` if reading fails at the OS level (transient: resume
    /// later with `seek(toSample:)`). Corrupt data does not throw once something was decoded:
    /// decoding stops or skips, and a `DecodeWarning` says where.
    public func next() throws(MediaError) -> [Float]? {
        try fill(options.chunkSize)
        let available = pending.count - pendingStart
        if available == 0 { return nil }
        let n = min(available, options.chunkSize)
        let chunk = Array(pending[pendingStart..<(pendingStart + n)])
        pendingStart += n
        // Keep only the unreturned tail (less than a frame's output): memory stays bounded.
        pending.removeSubrange(0..<pendingStart)
        pendingStart = 0
        position += n
        return chunk
    }

    /// Decodes everything that is left into one array (short files, tests).
    public func readAll() throws(MediaError) -> [Float] {
        var all: [Float] = []
        while let chunk = try next() { all.append(contentsOf: chunk) }
        return all
    }

    /// Positions the decoder so that the next sample returned is output sample `target`
    /// (16 kHz), equal (within the resampler's tolerance) to the sample a decode from the
    /// start would give there. Seeking past the end gives an empty stream.
    public func seek(toSample target: Int) throws(MediaError) {
        guard target >= 0 else { throw MediaError(.invalidArgument, path: path, reason: "negative seek target \(target)") }
        let preroll = options.seekPreroll
        let targetSeconds = Double(target) / Double(MediaInfo.outputSampleRate)
        // Timestamps must address single input samples (Matroska's 1 ms does not: its
        // Opus/Vorbis timestamps are rounded); otherwise decode from the start and discard.
        let rate = Double(info.sampleRate)
        // Ogg Vorbis packet timestamps after a seek are guessed from block sizes the demuxer
        // has not seen yet (wrong by up to a block): same fallback.
        if let origin = alignment.originSeconds, targetSeconds > preroll, input.timeBase > 0, input.timeBase * rate <= 1.0001,
           input.stream.pointee.codecpar.pointee.codec_id != AV_CODEC_ID_VORBIS {
            let ts = Int64(((origin + targetSeconds - preroll) / input.timeBase).rounded(.down))
            input.armDeadline()
            let r = av_seek_frame(input.format, input.streamIndex, ts, AVSEEK_FLAG_BACKWARD)
            input.disarmDeadline()
            if r >= 0 {
                try restart(.afterDemuxerSeek, discardingUntil: target)
                return
            }
            logger.debug("demuxer seek failed, decoding from the start", metadata: ["error": "\(LibavInput.describe(r))"])
        }
        try restart(.fromStart, discardingUntil: target)
    }

    /// Opens `path` just to describe it (container, codec, duration, channels, rate, streams).
    public static func probe(path: String, options: DecoderOptions = DecoderOptions()) throws(MediaError) -> MediaInfo {
        try AudioDecoder(path: path, options: options).info
    }

    /// A `Sequence` over the remaining chunks. Iteration ends at the end of the stream or at
    /// the first error; the error is then in `error` of the iterator's sequence.
    public var chunks: Chunks { Chunks(decoder: self) }

    public struct Chunks: Sequence, IteratorProtocol {
        let decoder: AudioDecoder
        /// The error that ended the iteration, if any (shared by copies of the iterator).
        public var error: MediaError? { box.error }
        private let box = ErrorBox()
        init(decoder: AudioDecoder) { self.decoder = decoder }
        public mutating func next() -> [Float]? {
            if box.error != nil { return nil }
            do throws(MediaError) { return try decoder.next() } catch {
                box.error = error
                return nil
            }
        }
        final class ErrorBox { var error: MediaError? }
    }

    // MARK: Decode loop

    private func prime() throws(MediaError) {
        let got = try decodeNextFrame()
        if !got {
            throw MediaError(.nothingDecodable, path: path,
                             reason: stopReason.map { "no audio could be decoded (\($0))" } ?? "the audio stream contains no samples")
        }
        haveFrame = true
        let f = input.frame!
        info.channels = Int(f.pointee.ch_layout.nb_channels)
        info.sampleRate = Int(f.pointee.sample_rate)
    }

    /// How decoding resumes at a new position.
    private enum Restart {
        /// The demuxer was positioned before the target: flush the codec, align on the next timed frame.
        case afterDemuxerSeek
        /// Reopen the file and decode from its start, discarding up to the target (slow but always exact).
        case fromStart
    }

    /// Forgets every decoded and buffered sample and resumes so that the next sample
    /// returned is output sample `target`.
    private func restart(_ how: Restart, discardingUntil target: Int) throws(MediaError) {
        // Reopen first: if that fails, the decoder stays as it was.
        if how == .fromStart { input = try LibavInput(path: path, options: options, reusing: input.descriptor) }
        resampler = Resampler(outputFormat: options.sampleFormat)
        draining = false
        finished = false
        haveFrame = false
        consecutiveErrors = 0
        stopReason = nil
        pending.removeAll(keepingCapacity: true)
        pendingStart = 0
        discardBefore = target
        position = target
        switch how {
        case .afterDemuxerSeek:
            avcodec_flush_buffers(input.codec)
            alignment.beginAfterSeek()
        case .fromStart:
            produced = 0
            alignment.restartFromStart()
            _ = try decodeNextFrame().then { haveFrame = true }
        }
    }

    private func fill(_ wanted: Int) throws(MediaError) {
        while pending.count - pendingStart < wanted && !finished {
            if alignment.failed {
                // Timestamps after the demuxer seek were unusable: fall back to an exact
                // decode from the start (slow but always right).
                try restart(.fromStart, discardingUntil: discardBefore)
                continue
            }
            if !haveFrame {
                if try !decodeNextFrame() {
                    flushResampler()
                    finish()
                    break
                }
            }
            haveFrame = false
            if let frame = input.frame {
                resample(frame)
                av_frame_unref(frame)
            }
        }
    }

    private func finish() {
        finished = true
        let end = Double(max(produced, discardBefore)) / Double(MediaInfo.outputSampleRate)
        if let reason = stopReason {
            warn(.stoppedEarly, at: end, reason)
        } else if let d = info.duration, discardBefore == 0, produced > 0,
                  end < d - max(1.0, 0.05 * d) {
            warn(.stoppedEarly, at: end,
                 "the output ends at \(String(format2: end)) s but the container declares \(String(format2: d)) s (truncated file?)")
        }
    }

    /// Receives the next valid frame into `input.frame`. False at the end of the stream
    /// (or when decoding had to stop; `stopReason` then says why).
    private func decodeNextFrame() throws(MediaError) -> Bool {
        let codec = input.codec, frame = input.frame
        while true {
            if stopReason != nil { return false }
            let r = avcodec_receive_frame(codec, frame)
            if r == 0 {
                if let problem = invalidFrameReason(frame!) {
                    av_frame_unref(frame)
                    noteDecodeError(problem)
                    continue
                }
                consecutiveErrors = 0
                return true
            }
            if r == CFFmpeg_averror_eof() { return false }
            if r == CFFmpeg_averror_eagain() {
                if draining { return false }
                try readAndSend()
                continue
            }
            noteDecodeError(LibavInput.describe(r))
        }
    }

    private func invalidFrameReason(_ f: UnsafeMutablePointer<AVFrame>) -> String? {
        let rate = f.pointee.sample_rate, ch = f.pointee.ch_layout.nb_channels
        if rate < 1000 || rate > 1_536_000 { return "unsupported sample rate \(rate) Hz" }
        if ch < 1 || ch > 64 { return "unsupported channel count \(ch)" }
        if f.pointee.nb_samples <= 0 { return "empty frame" }
        if f.pointee.extended_data == nil { return "frame without data" }
        return nil
    }

    private func noteDecodeError(_ reason: String) {
        consecutiveErrors += 1
        skippedErrors += 1
        if skippedErrors == 1 {
            warn(.skippedCorruptData, at: Double(max(produced, discardBefore)) / Double(MediaInfo.outputSampleRate), reason)
        }
        if consecutiveErrors >= options.maxConsecutiveDecodeErrors {
            stopReason = "\(consecutiveErrors) consecutive decode errors, last: \(reason)"
        }
    }

    private func readAndSend() throws(MediaError) {
        let fmt = input.format, pkt = input.packet!, codec = input.codec
        while true {
            input.armDeadline()
            let r = av_read_frame(fmt, pkt)
            input.disarmDeadline()
            if r < 0 {
                if r == CFFmpeg_averror_exit() {
                    throw MediaError(.timedOut, path: path, reason: "reading made no progress for \(options.ioTimeout) s")
                }
                if let e = LibavInput.ioErrno(r), input.isOSReadFailure(r) {
                    throw MediaError(.ioError, path: path, reason: "\(LibavInput.describe(r)) (errno \(e))")
                }
                if r != CFFmpeg_averror_eof() {
                    stopReason = "cannot read further: \(LibavInput.describe(r))"
                }
                avcodec_send_packet(codec, nil)
                draining = true
                return
            }
            defer { av_packet_unref(pkt) }
            if pkt.pointee.stream_index != input.streamIndex { continue }
            if alignment.awaitsFirstPacket { noteOrigin(pkt) }
            let s = avcodec_send_packet(codec, pkt)
            if s == 0 || s == CFFmpeg_averror_eagain() || s == CFFmpeg_averror_eof() { return }
            noteDecodeError(LibavInput.describe(s))
            if stopReason != nil { return }
        }
    }

    /// The first packet of a decode from the start fixes the input time of output sample 0:
    /// its timestamp plus the samples the decoder is told to skip (encoder delay).
    private func noteOrigin(_ pkt: UnsafeMutablePointer<AVPacket>) {
        let pts = pkt.pointee.pts != CFFmpeg_nopts_value() ? pkt.pointee.pts : pkt.pointee.dts
        let tb = input.timeBase
        alignment.noteFirstPacket(timestampSeconds: pts != CFFmpeg_nopts_value() && tb > 0 ? Double(pts) * tb : nil,
                                  skippedSamples: Int(CFFmpeg_packet_skip_samples(pkt)),
                                  codecRate: Double(input.codec?.pointee.sample_rate ?? 0))
    }

    // MARK: Resampling

    private func resample(_ f: UnsafeMutablePointer<AVFrame>) {
        if !resampler.accepts(f) {
            // Parameters changed mid-stream (or first frame): drain the old resampler first.
            flushResampler()
            guard resampler.configure(for: f) else {
                noteDecodeError("cannot resample \(f.pointee.sample_rate) Hz, \(f.pointee.ch_layout.nb_channels) channel(s)")
                return
            }
        }
        var offset = 0
        if alignment.isAligning {
            let timestamp = f.pointee.best_effort_timestamp != CFFmpeg_nopts_value() ? f.pointee.best_effort_timestamp : f.pointee.pts
            let step = alignment.align(frameSeconds: timestamp != CFFmpeg_nopts_value() ? Double(timestamp) * input.timeBase : nil,
                                       frameRate: Int(f.pointee.sample_rate), frameSamples: Int(f.pointee.nb_samples),
                                       outputRate: MediaInfo.outputSampleRate, target: discardBefore)
            guard case .start(let start, let outputIndex) = step else { return }
            offset = start
            produced = outputIndex
        }
        do throws(ResamplerError) { try resampler.convert(f, from: offset, emit) } catch { noteResamplerError(error) }
    }

    private func flushResampler() {
        guard !alignment.isAligning else { return }
        do throws(ResamplerError) { try resampler.flush(emit) } catch { noteResamplerError(error) }
    }

    private func noteResamplerError(_ error: ResamplerError) {
        switch error {
        case .missingPlane(let p): noteDecodeError("a frame without data for channel \(p)")
        case .libav(let code): noteDecodeError("resampler: \(LibavInput.describe(code))")
        }
    }

    /// Keeps the new resampler output `samples` that lie at or after `discardBefore` (seek)
    /// and within the output cap.
    private func emit(_ samples: UnsafeBufferPointer<Float>) {
        let count = samples.count
        var first = 0
        if produced < discardBefore { first = min(count, discardBefore - produced) }
        var last = count
        if produced + count > outputCap {
            last = max(first, outputCap - produced)
        }
        if last > first { pending.append(contentsOf: UnsafeBufferPointer(rebasing: samples[first..<last])) }
        produced += count
        if produced > outputCap && stopReason == nil {
            warn(.outputCapped, at: Double(outputCap) / Double(MediaInfo.outputSampleRate),
                 "more output than the file's size can hold; the header is probably damaged")
            stopReason = "output capped at \(outputCap) samples"
            finished = true
        }
    }

    private func warn(_ kind: DecodeWarning.Kind, at seconds: Double, _ detail: String) {
        let w = DecodeWarning(kind: kind, atSeconds: seconds, detail: detail, path: path)
        warnings.append(w)
        logger.warning("\(w.kind.rawValue) at \(String(format2: seconds)) s: \(detail)")
    }
}

extension Bool {
    @discardableResult
    func then(_ body: () -> Void) -> Bool {
        if self { body() }
        return self
    }
}
