import CFFmpeg

#if canImport(Glibc)
import Glibc
#endif

/// Owns the libav objects for one opened input: format context, codec context, packet,
/// frame and the I/O deadline cell. Freed deterministically in `deinit`.
/// Never leaves the module; not Sendable (used by one decoder, on one thread).
final class LibavInput {
    let path: String
    var format: UnsafeMutablePointer<AVFormatContext>?
    var codec: UnsafeMutablePointer<AVCodecContext>?
    var packet: UnsafeMutablePointer<AVPacket>?
    var frame: UnsafeMutablePointer<AVFrame>?
    /// Monotonic deadline (ns) read by the C interrupt callback; 0 = none.
    let deadline: UnsafeMutablePointer<UInt64>
    let ioTimeoutNs: UInt64
    /// The source, opened once and checked to be a regular file, with libav's read
    /// position; libav reads only through it (`io`), so the file cannot be swapped between
    /// the check and the reads.
    let file: UnsafeMutablePointer<CFFmpegFile>
    var io: UnsafeMutablePointer<AVIOContext>?

    var streamIndex: Int32 = -1
    var audioStreamIndices: [Int32] = []
    var selectedAudioOrdinal = 0

    /// `reusing`: the descriptor of an earlier input of the same source (a reopen to decode
    /// from the start), duplicated rather than opened again by path.
    init(path: String, options: DecoderOptions, reusing: Int32? = nil) throws(MediaError) {
        self.path = path
        deadline = .allocate(capacity: 1)
        deadline.initialize(to: 0)
        ioTimeoutNs = UInt64(max(0.001, options.ioTimeout) * 1e9)
        file = .allocate(capacity: 1)
        file.initialize(to: CFFmpegFile(fd: -1, position: 0))
        try open(options: options, reusing: reusing)
    }

    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
        var c: UnsafeMutablePointer<AVCodecContext>? = codec
        avcodec_free_context(&c)
        var fc: UnsafeMutablePointer<AVFormatContext>? = format
        if fc != nil { avformat_close_input(&fc) }
        CFFmpeg_fd_avio_free(&io)  // a custom AVIOContext is the caller's to free
        if file.pointee.fd >= 0 { close(file.pointee.fd) }
        file.deallocate()
        deadline.deinitialize(count: 1)
        deadline.deallocate()
    }

    func armDeadline() { deadline.pointee = CFFmpeg_monotonic_ns() &+ ioTimeoutNs }
    func disarmDeadline() { deadline.pointee = 0 }

    func error(_ code: MediaError.Code, _ reason: String) -> MediaError {
        MediaError(code, path: path, reason: reason)
    }

    /// The descriptor libav reads through.
    var descriptor: Int32 { file.pointee.fd }

    private func open(options: DecoderOptions, reusing: Int32?) throws(MediaError) {
        // Classify what the OS says before libav gets to guess.
        let st = try openChecked(refusingSymlinks: !options.followSymlinks, reusing: reusing)
        if st.st_size == 0 { throw error(.notMediaFile, "the file is empty") }

        guard let ctx = avformat_alloc_context() else { throw error(.ioError, "out of memory") }
        CFFmpeg_set_interrupt_deadline(ctx, deadline)
        var fmt: UnsafeMutablePointer<AVFormatContext>? = ctx
        // Only plain files, also for any file a demuxer opens on the input's behalf.
        var dictionary: OpaquePointer?
        av_dict_set(&dictionary, "protocol_whitelist", "file", 0)
        defer { av_dict_free(&dictionary) }
        let probed: UnsafePointer<AVInputFormat>?
        do {
            probed = try probeFormat(ctx, allowPlaylists: options.allowPlaylists)
        } catch {
            avformat_free_context(ctx)
            throw error
        }
        file.pointee.position = 0
        guard let input = CFFmpeg_fd_avio(file) else {
            avformat_free_context(ctx)
            throw error(.ioError, "out of memory")
        }
        io = input
        ctx.pointee.pb = input
        armDeadline()
        var r = avformat_open_input(&fmt, path, probed, &dictionary)
        disarmDeadline()
        if r < 0 {
            // avformat_open_input frees the context on failure (not our AVIOContext).
            throw openError(r)
        }
        format = fmt
        if let detected = fmt?.pointee.iformat { try refuseReferencing(detected, allowPlaylists: options.allowPlaylists) }
        armDeadline()
        r = avformat_find_stream_info(fmt, nil)
        disarmDeadline()
        if r < 0 {
            if r == CFFmpeg_averror_exit() { throw error(.timedOut, "probing did not finish in time") }
            if let io = Self.ioErrno(r), isOSReadFailure(r) { throw error(.ioError, Self.describe(r) + " (errno \(io))") }
            throw error(.notMediaFile, "cannot read stream information: \(Self.describe(r))")
        }
        guard let fmt else { throw error(.notMediaFile, "cannot open") }

        let streamCount = Int(fmt.pointee.nb_streams)
        for i in 0..<streamCount {
            if let s = fmt.pointee.streams[i], s.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO {
                audioStreamIndices.append(Int32(i))
            }
        }
        if audioStreamIndices.isEmpty {
            throw error(.noAudioStream, "the file has \(streamCount) stream(s), none of them audio")
        }

        if let wanted = options.audioStream {
            guard audioStreamIndices.indices.contains(wanted) else {
                throw error(.invalidArgument, "audio stream \(wanted) requested, the file has \(audioStreamIndices.count)")
            }
            streamIndex = audioStreamIndices[wanted]
        } else {
            let best = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0)
            if best < 0 {
                if best == CFFmpeg_averror_decoder_not_found() {
                    throw error(.unsupportedCodec, "no decoder for any audio stream")
                }
                throw error(.noAudioStream, Self.describe(best))
            }
            streamIndex = best
        }
        selectedAudioOrdinal = audioStreamIndices.firstIndex(of: streamIndex) ?? 0

        // Demux only the selected stream: everything else (video, other audio) is discarded
        // by the demuxer and never reaches a decoder.
        for i in 0..<streamCount where Int32(i) != streamIndex {
            fmt.pointee.streams[i]?.pointee.discard = AVDISCARD_ALL
        }

        guard let stream = fmt.pointee.streams[Int(streamIndex)] else { throw error(.noAudioStream, "stream missing") }
        let par = stream.pointee.codecpar!
        let codecName = String(cString: avcodec_get_name(par.pointee.codec_id))
        guard let decoder = avcodec_find_decoder(par.pointee.codec_id) else {
            throw error(.unsupportedCodec, "no decoder for codec '\(codecName)'")
        }
        guard let cctx = avcodec_alloc_context3(decoder) else { throw error(.ioError, "out of memory") }
        codec = cctx
        r = avcodec_parameters_to_context(cctx, par)
        if r < 0 { throw error(.unsupportedCodec, "codec '\(codecName)': \(Self.describe(r))") }
        cctx.pointee.pkt_timebase = stream.pointee.time_base
        if options.sampleFormat == .s16Quantized {  // PyAV's samples; `.float32` stays the ffmpeg command's
            Self.applyOpusPreSkip(cctx, containerPadding: Int(par.pointee.initial_padding))
        }
        cctx.pointee.thread_count = 1
        r = avcodec_open2(cctx, decoder, nil)
        if r < 0 { throw error(.unsupportedCodec, "cannot open the '\(codecName)' decoder: \(Self.describe(r))") }

        guard let p = av_packet_alloc(), let f = av_frame_alloc() else { throw error(.ioError, "out of memory") }
        packet = p
        frame = f
    }

    /// Rewrites the pre-skip of an Opus decoder's OpusHead (its own copy of the header) as
    /// `OpusPreSkipPolicy` says, before the decoder is opened.
    private static func applyOpusPreSkip(_ cctx: UnsafeMutablePointer<AVCodecContext>, containerPadding: Int) {
        guard cctx.pointee.codec_id == AV_CODEC_ID_OPUS, cctx.pointee.extradata_size >= 19,
              let header = cctx.pointee.extradata else { return }
        let magic: [UInt8] = Array("OpusHead".utf8)
        guard (0..<8).allSatisfy({ header[$0] == magic[$0] }) else { return }
        let current = Int(header[10]) | Int(header[11]) << 8
        guard let preSkip = OpusPreSkipPolicy.preSkip(headerPreSkip: current, containerPadding: containerPadding) else { return }
        header[10] = UInt8(preSkip & 0xFF)
        header[11] = UInt8(preSkip >> 8)
    }

    /// The format libavformat would detect for the file, found before any demuxer reads it
    /// (so a refused playlist never opens its segments); nil when probing fails, which
    /// `avformat_open_input` then reports as it always has.
    private func probeFormat(_ ctx: UnsafeMutablePointer<AVFormatContext>,
                             allowPlaylists: Bool) throws(MediaError) -> UnsafePointer<AVInputFormat>? {
        var dictionary: OpaquePointer?
        av_dict_set(&dictionary, "protocol_whitelist", "file", 0)
        defer { av_dict_free(&dictionary) }
        let position = UnsafeMutablePointer<CFFmpegFile>.allocate(capacity: 1)
        position.initialize(to: CFFmpegFile(fd: descriptor, position: 0))
        defer { position.deallocate() }
        var probe = CFFmpeg_fd_avio(position)
        guard let reader = probe else { return nil }
        defer { CFFmpeg_fd_avio_free(&probe) }
        armDeadline()
        defer { disarmDeadline() }
        var detected: UnsafePointer<AVInputFormat>?
        guard av_probe_input_buffer2(reader, &detected, path, nil, 0, 0) >= 0, let detected else { return nil }
        try refuseReferencing(detected, allowPlaylists: allowPlaylists)
        return detected
    }

    /// Opens the source (non-blocking: a FIFO cannot hang the open; no final symlink when
    /// refused) and checks through the descriptor that it is a regular file.
    private func openChecked(refusingSymlinks: Bool, reusing: Int32?) throws(MediaError) -> stat {
        let fd = reusing.map { fcntl($0, F_DUPFD_CLOEXEC, 0) }
            ?? Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (refusingSymlinks ? O_NOFOLLOW : 0))
        if fd < 0 {
            let e = errno
            switch e {
            case ENOENT, ENOTDIR: throw error(.notFound, "no such file")
            case EACCES, EPERM: throw error(.permissionDenied, "cannot access the file")
            case ELOOP: throw error(.invalidArgument, "is a symbolic link (not followed here)")
            default: throw error(.ioError, String(cString: strerror(e)))
            }
        }
        file.pointee.fd = fd
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw error(.ioError, String(cString: strerror(errno))) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw error(.notMediaFile, "is a directory")
        case S_IFIFO: throw error(.notMediaFile, "is a FIFO, not a regular file")
        case S_IFSOCK: throw error(.notMediaFile, "is a socket, not a regular file")
        default: throw error(.notMediaFile, "is a device, not a regular file")
        }
        // Reads block as on any regular file (O_NONBLOCK only kept the open from hanging).
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return st
    }

    private func refuseReferencing(_ format: UnsafePointer<AVInputFormat>, allowPlaylists: Bool) throws(MediaError) {
        let name = String(cString: format.pointee.name)
        if InputFormatPolicy.refuses(formatName: name, allowPlaylists: allowPlaylists) {
            throw error(.refusedFormat, "the '\(name)' format reads other files named inside it; refused (set [media] allow_playlists = true to allow)")
        }
    }

    private func openError(_ r: Int32) -> MediaError {
        // Demuxers also return errno codes for malformed content (EIO on a short header,
        // EPERM/EACCES for odd fields): trust an OS-level classification only if reading the
        // file directly fails too.
        let osFailure = osReadErrno()
        if osFailure != nil {
            switch -r {
            case ENOENT, ENOTDIR: return error(.notFound, "no such file")
            case EACCES, EPERM: return error(.permissionDenied, "cannot access the file")
            default: break
            }
        }
        if r == CFFmpeg_averror_exit() { return error(.timedOut, "opening did not finish in time") }
        if let io = Self.ioErrno(r), osFailure != nil { return error(.ioError, "\(Self.describe(r)) (errno \(io))") }
        return error(.notMediaFile, "no known container format: \(Self.describe(r))")
    }

    /// errno if opening or reading the start of the file fails at the OS level, else nil.
    func osReadErrno() -> Int32? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return errno }
        defer { close(fd) }
        var byte: UInt8 = 0
        return read(fd, &byte, 1) < 0 ? errno : nil
    }

    /// True if `r` (from reading packets) is a real OS read failure: the I/O layer recorded
    /// an error, not merely a demuxer that reports malformed data with an errno code.
    func isOSReadFailure(_ r: Int32) -> Bool {
        guard Self.ioErrno(r) != nil else { return false }
        if let pb = format?.pointee.pb, pb.pointee.error < 0 { return true }
        return osReadErrno() != nil
    }

    /// The errno if `r` is an OS-level I/O failure that may go away (not corrupt data).
    static func ioErrno(_ r: Int32) -> Int32? {
        let e = -r
        switch e {
        case EIO, ESTALE, ETIMEDOUT, ENOTCONN, ECONNRESET, ENETDOWN, ENETUNREACH, EHOSTUNREACH, EREMOTEIO, EBADF, ENXIO:
            return e
        default:
            return nil
        }
    }

    static func describe(_ r: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buf in
            buf.initialize(repeating: 0)
            if av_strerror(r, buf.baseAddress, 256) < 0 { return "error \(r)" }
            return String(cString: buf.baseAddress!)
        }
    }

    var stream: UnsafeMutablePointer<AVStream> { format!.pointee.streams[Int(streamIndex)]! }

    var timeBase: Double {
        let tb = stream.pointee.time_base
        return tb.den == 0 ? 0 : Double(tb.num) / Double(tb.den)
    }

    var containerName: String {
        guard let f = format?.pointee.iformat?.pointee.name else { return "unknown" }
        return String(cString: f)
    }

    var codecName: String { String(cString: avcodec_get_name(stream.pointee.codecpar.pointee.codec_id)) }

    /// The selected stream's duration if the container gives one (a video's audio track may
    /// be shorter than the file), else the container's.
    var declaredDuration: Double? {
        let d = stream.pointee.duration
        if d != CFFmpeg_nopts_value(), d > 0, timeBase > 0 { return Double(d) * timeBase }
        if let f = format, f.pointee.duration != CFFmpeg_nopts_value(), f.pointee.duration > 0 {
            return Double(f.pointee.duration) / Double(AV_TIME_BASE)
        }
        return nil
    }
}
