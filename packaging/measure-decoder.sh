#!/usr/bin/env bash
# Measures the decoder against the ffmpeg CLI, side by side in one run:
#   speed:    AudioDecoder (decode + down-mix + resample to 16 kHz mono) vs
#             `ffmpeg -i FILE -ac 1 -ar 16000 -f f32le - >/dev/null`
#   peak RSS: decoding a 1-min file vs a long one (getrusage maxrss of the test process,
#             which runs only the probe)
# Usage: packaging/measure-decoder.sh [SPEED_FILE] [LONG_FILE]
# (defaults: $DROPSCRIBE_CORPUS or .corpus: long/long-60min.mp3, and /tmp/corpus-long/long/long-180min.flac)
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${DROPSCRIBE_CORPUS:-$PWD/.corpus}
SPEED_FILE=${1:-$CORPUS/long/long-60min.mp3}
LONG_FILE=${2:-/tmp/corpus-long/long/long-180min.flac}
swift build --build-tests >/dev/null

probe() { DROPSCRIBE_PROBE_FILE="$1" DROPSCRIBE_PROBE_FORMAT="${2:-s16}" swift test --skip-build --filter DecodeProbe 2>&1 | grep '^probe' ; }
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
