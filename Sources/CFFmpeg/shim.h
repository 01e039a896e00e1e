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
#include <libavutil/tx.h>
#include <libavutil/mem.h>
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

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

/* Reading through a descriptor the caller opened and checked (a regular file), so the
   file libav reads cannot be swapped after the check. Each reader keeps its own offset
   (pread), so several may share one descriptor. */
typedef struct CFFmpegFile {
    int fd;
    int64_t position;
} CFFmpegFile;

static inline int CFFmpeg_fd_read(void *opaque, uint8_t *buf, int size) {
    CFFmpegFile *file = (CFFmpegFile *)opaque;
    ssize_t n;
    do { n = pread(file->fd, buf, (size_t)size, (off_t)file->position); } while (n < 0 && errno == EINTR);
    if (n == 0) return AVERROR_EOF;
    if (n < 0) return AVERROR(errno);
    file->position += n;
    return (int)n;
}

static inline int64_t CFFmpeg_fd_seek(void *opaque, int64_t offset, int whence) {
    CFFmpegFile *file = (CFFmpegFile *)opaque;
    struct stat st;
    if (fstat(file->fd, &st) != 0) return AVERROR(errno);
    if (whence & AVSEEK_SIZE) return (int64_t)st.st_size;
    int64_t base;
    switch (whence & ~AVSEEK_FORCE) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = file->position; break;
    case SEEK_END: base = (int64_t)st.st_size; break;
    default: return AVERROR(EINVAL);
    }
    if (offset > INT64_MAX - base || base + offset < 0) return AVERROR(EINVAL);
    file->position = base + offset;
    return file->position;
}

/* An AVIOContext reading *file from its position; NULL when out of memory. */
static inline AVIOContext *CFFmpeg_fd_avio(CFFmpegFile *file) {
    const int size = 65536;
    unsigned char *buffer = av_malloc(size);
    if (!buffer) return NULL;
    AVIOContext *io = avio_alloc_context(buffer, size, 0, file, CFFmpeg_fd_read, NULL, CFFmpeg_fd_seek);
    if (!io) av_free(buffer);
    return io;
}

/* Frees an AVIOContext made by CFFmpeg_fd_avio (its buffer may have been replaced by libav). */
static inline void CFFmpeg_fd_avio_free(AVIOContext **io) {
    if (!io || !*io) return;
    av_freep(&(*io)->buffer);
    avio_context_free(io);
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
