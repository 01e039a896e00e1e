#ifndef DROPSCRIBE_CFFMPEG_SHIM_H
#define DROPSCRIBE_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswresample/swresample.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
#include <libavutil/log.h>
#include <errno.h>
#include <stdint.h>
#include <time.h>

/* Macros Swift cannot import. */
static inline int CFFmpeg_averror(int e) { return AVERROR(e); }
static inline int CFFmpeg_averror_eof(void) { return AVERROR_EOF; }
static inline int CFFmpeg_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline long long CFFmpeg_nopts_value(void) { return (long long)AV_NOPTS_VALUE; }
static inline int CFFmpeg_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int CFFmpeg_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int CFFmpeg_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int CFFmpeg_averror_exit(void) { return AVERROR_EXIT; }
static inline int CFFmpeg_averror_eio(void) { return AVERROR(EIO); }

/* Monotonic clock in nanoseconds, for the I/O interrupt deadline. */
static inline uint64_t CFFmpeg_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* AVIOInterruptCB callback: opaque points to a uint64_t deadline (monotonic ns, 0 = none).
   Kept in C so no Swift state is needed; the deadline lives in memory owned by the decoder. */
static inline int CFFmpeg_deadline_interrupt(void *opaque) {
    const volatile uint64_t *deadline = (const volatile uint64_t *)opaque;
    uint64_t d = deadline ? *deadline : 0;
    return (d != 0 && CFFmpeg_monotonic_ns() > d) ? 1 : 0;
}

static inline void CFFmpeg_set_interrupt_deadline(AVFormatContext *ctx, uint64_t *deadline) {
    ctx->interrupt_callback.callback = CFFmpeg_deadline_interrupt;
    ctx->interrupt_callback.opaque = deadline;
}

/* Number of samples the demuxer asks the decoder to skip at the start of this packet
   (encoder delay/priming), 0 if none. */
static inline int64_t CFFmpeg_packet_skip_samples(const AVPacket *pkt) {
    size_t size = 0;
    const uint8_t *p = av_packet_get_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, &size);
    if (!p || size < 4) return 0;
    return (int64_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
}

#endif
