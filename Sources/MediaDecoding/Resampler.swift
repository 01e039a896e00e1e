import CFFmpeg

/// Why a frame could not be resampled; the decoder records it as corrupt data of its file.
enum ResamplerError: Error {
    /// The frame's data pointer for this plane (channel, if planar) is missing.
    case missingPlane(Int)
    /// libswresample refused the frame's parameters or its data (a libav error code).
    case libav(Int32)
}

/// Converts decoded frames, whatever their rate, channel layout and sample format, to
/// 16 kHz mono Float samples (through signed 16-bit first for `.s16Quantized`), as PyAV's
/// `AudioResampler` does: its filter graph's auto-inserted `aresample` is a default
/// libswresample context fed frame by frame and flushed at the end, and it ignores
/// timestamps (no padding or trimming), so this drives libswresample the same way
/// (with the working format of `ResampleFormatPolicy`).
///
/// Exists so the decoder's demux/decode loop does not carry libswresample's state: the
/// parameters it was set up for, the scratch buffers, and the reconfiguration when a
/// stream changes its parameters mid-way. Frees its context when released; not Sendable
/// (one decoder, one thread).
final class Resampler {
    private let outputFormat: OutputSampleFormat
    private var context: OpaquePointer?
    private var rate: Int32 = 0
    private var format: Int32 = -1
    private var layout = AVChannelLayout()
    /// libswresample's s16 output, before the division by 32768.
    private var quantized: [Int16] = []
    /// The last conversion's output samples.
    private var samples: [Float] = []

    init(outputFormat: OutputSampleFormat) {
        self.outputFormat = outputFormat
    }

    deinit {
        swr_free(&context)
        av_channel_layout_uninit(&layout)
    }

    /// True if the resampler is set up for frames like `f` (same rate, format and layout).
    func accepts(_ f: UnsafeMutablePointer<AVFrame>) -> Bool {
        guard context != nil, f.pointee.sample_rate == rate, f.pointee.format == format else { return false }
        var frameLayout = AVChannelLayout()
        guard Self.layout(of: f, into: &frameLayout) else { return false }
        defer { av_channel_layout_uninit(&frameLayout) }
        return av_channel_layout_compare(&frameLayout, &layout) == 0
    }

    /// Replaces the context with one for frames like `f` (the caller drains the old one
    /// first with `flush`). False if libswresample cannot convert them.
    func configure(for f: UnsafeMutablePointer<AVFrame>) -> Bool {
        swr_free(&context)
        av_channel_layout_uninit(&layout)
        rate = 0
        format = f.pointee.format
        guard Self.layout(of: f, into: &layout) else { return false }
        var mono = AVChannelLayout()
        av_channel_layout_default(&mono, 1)
        defer { av_channel_layout_uninit(&mono) }
        let outFormat = outputFormat == .s16Quantized ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_FLT
        var r = swr_alloc_set_opts2(&context, &mono, outFormat, Int32(MediaInfo.outputSampleRate),
                                    &layout, AVSampleFormat(format), f.pointee.sample_rate, 0, nil)
        if r >= 0, let name = av_get_sample_fmt_name(AVSampleFormat(format)).map({ String(cString: $0) }),
           let working = ResampleFormatPolicy.internalFormat(input: name, inputRate: Int(f.pointee.sample_rate),
                                                              outputRate: MediaInfo.outputSampleRate) {
            r = av_opt_set(UnsafeMutableRawPointer(context), "internal_sample_fmt", working, 0)
        }
        if r >= 0 { r = swr_init(context) }
        if r < 0 {
            swr_free(&context)
            return false
        }
        rate = f.pointee.sample_rate
        return true
    }

    /// Converts the samples of `f` from input sample `offset` on; `output` receives what
    /// the resampler produced (it may hold some back until later frames or `flush`).
    func convert(_ f: UnsafeMutablePointer<AVFrame>, from offset: Int,
                 _ output: (UnsafeBufferPointer<Float>) -> Void) throws(ResamplerError) {
        let bytesPerSample = Int(av_get_bytes_per_sample(AVSampleFormat(format)))
        let channels = Int(f.pointee.ch_layout.nb_channels)
        let planar = av_sample_fmt_is_planar(AVSampleFormat(format)) != 0
        let planes = planar ? channels : 1
        let step = planar ? bytesPerSample : bytesPerSample * channels
        let count = Int(f.pointee.nb_samples) - offset
        try withUnsafeTemporaryAllocation(of: UnsafePointer<UInt8>?.self, capacity: planes) { pointers throws(ResamplerError) in
            for p in 0..<planes {
                guard let plane = f.pointee.extended_data[p] else { throw .missingPlane(p) }
                pointers[p] = UnsafePointer(plane.advanced(by: offset * step))
            }
            try run(pointers.baseAddress, count, output)
        }
    }

    /// Drains what the resampler still holds into `output` (at the end of the stream, or
    /// before its parameters change).
    func flush(_ output: (UnsafeBufferPointer<Float>) -> Void) throws(ResamplerError) {
        guard context != nil else { return }
        for _ in 0..<64 {  // bounded: each call drains what the resampler holds
            var produced = 0
            try run(nil, 0) { produced = $0.count; output($0) }
            if produced == 0 { break }
        }
    }

    private func run(_ input: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ count: Int,
                     _ output: (UnsafeBufferPointer<Float>) -> Void) throws(ResamplerError) {
        guard let swr = context else { return }
        let capacity = Int(swr_get_out_samples(swr, Int32(count))) + 16
        if samples.count < capacity { samples = [Float](repeating: 0, count: capacity) }
        let got: Int32
        switch outputFormat {
        case .s16Quantized:
            got = Self.swrConvert(swr, into: &quantized, capacity: capacity, input, count)
            for i in 0..<max(0, Int(got)) { samples[i] = Float(quantized[i]) * (1 / 32768) }
        case .float32:
            got = Self.swrConvert(swr, into: &samples, capacity: capacity, input, count)
        }
        if got < 0 { throw .libav(got) }
        if got > 0 { samples.withUnsafeBufferPointer { output(UnsafeBufferPointer(rebasing: $0[0..<Int(got)])) } }
    }

    /// One `swr_convert` into `buffer` (grown to `capacity`): the samples produced, or a libav error code.
    private static func swrConvert<Sample: Numeric>(_ swr: OpaquePointer, into buffer: inout [Sample], capacity: Int,
                                                    _ input: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
                                                    _ count: Int) -> Int32 {
        if buffer.count < capacity { buffer = [Sample](repeating: 0, count: capacity) }
        return buffer.withUnsafeMutableBytes { raw in
            var out = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            return swr_convert(swr, &out, Int32(capacity), input, Int32(count))
        }
    }

    /// The frame's channel layout, or the default one for its channel count when the
    /// frame's is unspecified or invalid. False if it cannot be copied.
    private static func layout(of f: UnsafeMutablePointer<AVFrame>, into out: inout AVChannelLayout) -> Bool {
        if f.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || av_channel_layout_check(&f.pointee.ch_layout) == 0 {
            av_channel_layout_default(&out, f.pointee.ch_layout.nb_channels)
            return true
        }
        return av_channel_layout_copy(&out, &f.pointee.ch_layout) >= 0
    }
}
