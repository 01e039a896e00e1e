#ifndef DROPSCRIBE_CFFMPEG_SHIM_H
#define DROPSCRIBE_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswresample/swresample.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
#include <errno.h>

/* Macros Swift cannot import. */
static inline int CFFmpeg_averror(int e) { return AVERROR(e); }
static inline int CFFmpeg_averror_eof(void) { return AVERROR_EOF; }
static inline int CFFmpeg_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline long long CFFmpeg_nopts_value(void) { return (long long)AV_NOPTS_VALUE; }
#endif
