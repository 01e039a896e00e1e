#!/usr/bin/env bash
# Measures the decoder against the ffmpeg CLI, side by side in one run:
#   speed:    AudioDecoder (decode + down-mix + resample to 16 kHz mono) vs
#             `ffmpeg -i FILE -ac 1 -ar 16000 -f f32le - >/dev/null`
#   peak RSS: decoding a 1-min file vs a long one (`dropscribe bench-decode`: the
#             process's peak RSS during decoding, from /proc/self/status)
# Usage: packaging/measure-decoder.sh [SPEED_FILE] [LONG_FILE]
# (defaults: $DROPSCRIBE_CORPUS or .corpus: long/long-60min.mp3, and /tmp/corpus-long/long/long-180min.flac)
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${DROPSCRIBE_CORPUS:-$PWD/.corpus}
SPEED_FILE=${1:-$CORPUS/long/long-60min.mp3}
LONG_FILE=${2:-/tmp/corpus-long/long/long-180min.flac}
swift build -c release >/dev/null
BIN=$(swift build -c release --show-bin-path)/dropscribe

probe() { "$BIN" bench-decode "$1" --format "${2:-s16}" ; }
now() { date +%s.%N; }

echo "== speed: $SPEED_FILE"
for round in 1 2; do
    t0=$(now); ffmpeg -nostdin -v error -i "$SPEED_FILE" -ac 1 -ar 16000 -f f32le - >/dev/null; t1=$(now)
    ff=$(echo "$t1 - $t0" | bc -l)
    line=$(probe "$SPEED_FILE" f32); ours=$(sed -E 's/.*decode_s=([0-9.]+).*/\1/' <<<"$line")
    line16=$(probe "$SPEED_FILE" s16); ours16=$(sed -E 's/.*decode_s=([0-9.]+).*/\1/' <<<"$line16")
    printf 'round %d: ffmpeg f32le %.2f s | AudioDecoder float32 %.2f s (ffmpeg/ours = %.2f) | s16Quantized %.2f s (ratio %.2f)\n' \
        "$round" "$ff" "$ours" "$(echo "$ff / $ours" | bc -l)" "$ours16" "$(echo "$ff / $ours16" | bc -l)"
done

echo "== peak RSS"
probe "$CORPUS/long/long-01min.flac"
if [ -f "$LONG_FILE" ]; then probe "$LONG_FILE"; else echo "($LONG_FILE missing: Tests/Corpus/make-corpus.sh /tmp/corpus-long --long)"; fi
