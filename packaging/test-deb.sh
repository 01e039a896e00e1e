#!/usr/bin/env bash
# Install test of the .deb in a fresh Debian 12 (bookworm) minbase root (make deb-test).
#
#   packaging/test-deb.sh [DEB]     (default: the newest dropscribe_*.deb in the repository root)
#
# Needs root (debootstrap, chroot, mounts) and the network (Debian mirror). The
# minbase root is made once with debootstrap into .deb-test/base (git-ignored) and
# copied afresh for every run. In the copy it:
#   1. installs systemd, then the .deb with apt-get (so Depends/Recommends are resolved), no prompts;
#      the default model is copied in from models/tiny.en when present (postinst then
#      only verifies it; DROPSCRIBE_DEB_TEST_DOWNLOAD=1 makes postinst fetch it);
#   2. runs dropscribe --version, --help and every subcommand's --help;
#   3. checks the service user, the folders, the config and the man page;
#   4. transcribes a corpus clip (FFmpeg and OpenBLAS really load) and runs the daemon
#      as user dropscribe with /etc/dropscribe/config.toml: a dropped file is done,
#      `dropscribe health` is 0 while it runs, SIGTERM stops it with 0;
#   5. systemd-analyze verify on the installed unit (--root=the chroot) and the
#      offline security score;
#   6. with DROPSCRIBE_DEB_TEST_BOOT=1: boots the root with systemd-nspawn and checks
#      the unit under a real systemd (Type=notify readiness, sandbox, a dropped file
#      done, health, a clean `systemctl stop`);
#   7. runs the postinst without network: it must succeed and explain what to do;
#   8. purges the package.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[ "$(id -u)" -eq 0 ] || { echo "test-deb: needs root (debootstrap, chroot)" >&2; exit 2; }
deb=${1:-$(ls -t "$repo"/dropscribe_*.deb 2>/dev/null | head -1)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "test-deb: no .deb (make deb first)" >&2; exit 2; }
deb=$(readlink -f "$deb")
work="$repo/.deb-test"
base="$work/base"
root="$work/root"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
started=$(date +%s)
step() { printf '\n== test-deb [%3ds]: %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { echo "test-deb: FAILED: $*" >&2; exit 1; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

if ! command -v debootstrap >/dev/null; then
    step "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap </dev/null
fi
if [ ! -f "$base/etc/debian_version" ]; then
    step "debootstrap --variant=minbase bookworm (once, into $base)"
    rm -rf "$base.tmp"
    mkdir -p "$work"
    debootstrap --variant=minbase bookworm "$base.tmp" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
    mv "$base.tmp" "$base"
fi

step "fresh root from the minbase copy"
cleanup() {
    for m in "$root/proc" "$root/sys" "$root/dev/pts"; do mountpoint -q "$m" && umount -l "$m"; done
    true
}
trap cleanup EXIT
cleanup
rm -rf "$root"
cp -a "$base" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mkdir -p "$root/dev/pts" && mount -t devpts devpts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
# Site-local trust anchors (e.g. a TLS-inspecting egress proxy's CA), as every machine
# on this network has them: ca-certificates' postinst adds them in the chroot too.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi

if [ -z "${DROPSCRIBE_DEB_TEST_DOWNLOAD:-}" ] && [ -f "$repo/models/tiny.en/model.bin" ]; then
    mkdir -p "$root/var/lib/dropscribe/models"
    cp -a "$(readlink -f "$repo/models/tiny.en")" "$root/var/lib/dropscribe/models/tiny.en"
    rm -rf "$root/var/lib/dropscribe/models/tiny.en/wheels"
fi

step "apt-get install systemd (a server has it; the unit is verified against it), then ./$(basename "$deb")"
cp "$deb" "$root/tmp/dropscribe.deb"
in_root apt-get update -qq
in_root apt-get install -y -q --no-install-recommends systemd </dev/null >"$work/systemd-install.log" 2>&1 \
    || { tail -20 "$work/systemd-install.log"; fail "apt-get install systemd"; }
in_root apt-get install -y -q /tmp/dropscribe.deb </dev/null 2>&1 | tee "$work/install.log" | grep -E "^(Setting up dropscribe|dropscribe|setup-models|E:)" || true
grep -q "^Setting up dropscribe" "$work/install.log" || fail "apt-get install (see $work/install.log)"
in_root dpkg-query -W -f='${Status} ${Version}\n' dropscribe | grep -q "install ok installed" || fail "not installed"
grep -q "setup-models: tiny.en is ready in /var/lib/dropscribe/models/tiny.en" "$work/install.log" || fail "the model step did not report tiny.en ready"

step "the binary runs"
in_root dropscribe --version
in_root dropscribe --help >/dev/null
for c in watch transcribe status retry reset health; do
    in_root dropscribe "$c" --help | grep -q "USAGE: dropscribe $c" || fail "dropscribe $c --help"
done
echo "--help: dropscribe and watch transcribe status retry reset health"
if in_root ldd /usr/bin/dropscribe | grep -E "not found|libswift"; then fail "missing or Swift runtime libraries"; fi

step "user, folders, config, man page"
in_root id dropscribe
in_root stat -c '%A %U:%G %n' /srv/dropscribe/inbox /srv/dropscribe/transcripts /var/lib/dropscribe
[ "$(in_root stat -c %U:%a /srv/dropscribe/inbox)" = "dropscribe:2775" ] || fail "inbox owner/mode"
in_root test -s /usr/share/man/man1/dropscribe.1.gz || fail "man page"
in_root test -L /etc/systemd/system/multi-user.target.wants/dropscribe.service || fail "the unit is not enabled"
grep -q "^/etc/dropscribe/config.toml$" "$root/var/lib/dpkg/info/dropscribe.conffiles" || fail "config is not a conffile"
in_root runuser -u dropscribe -- dropscribe status --config /etc/dropscribe/config.toml

step "a transcription in the chroot (FFmpeg + OpenBLAS + model)"
clip=""
for c in "$repo/.corpus/formats/sample.mp3" "$repo/.corpus/clips/clip-01.wav"; do
    [ -f "$c" ] && { clip=$c; break; }
done
if [ -n "$clip" ]; then
    cp "$clip" "$root/tmp/clip.${clip##*.}"
    text=$(in_root runuser -u dropscribe -- dropscribe transcribe "/tmp/clip.${clip##*.}" --config /etc/dropscribe/config.toml)
    echo "transcript of $(basename "$clip"): $text"
    [ -n "$(echo "$text" | tr -d '[:space:]')" ] || fail "empty transcript"

    step "the daemon with the packaged config, as user dropscribe"
    install -d -o "$(in_root id -u dropscribe)" -g "$(in_root id -g dropscribe)" "$root/run/dropscribe"
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        runuser -u dropscribe -- dropscribe watch --config /etc/dropscribe/config.toml >"$work/daemon.log" 2>&1 &
    daemon=$!
    job="/srv/dropscribe/inbox/clip.${clip##*.}"
    cp "$clip" "$root$job" && chmod 664 "$root$job"
    for _ in $(seq 1 120); do [ -f "$root$job.done" ] && break; sleep 0.5; done
    [ -f "$root$job.done" ] || { cat "$work/daemon.log"; fail "the daemon did not finish the dropped file"; }
    ls "$root/srv/dropscribe/transcripts/"
    [ -s "$root/srv/dropscribe/transcripts/clip.${clip##*.}.txt" ] || fail "no transcript under output_dir"
    in_root dropscribe health --config /etc/dropscribe/config.toml || { cat "$work/daemon.log"; fail "health"; }
    pid=$(pgrep -f -n "dropscribe watch --config /etc/dropscribe/config.toml" || true)
    [ -n "$pid" ] && kill -TERM "$pid"
    wait "$daemon" || fail "the daemon did not exit 0 on SIGTERM"
    echo "daemon stopped cleanly"
else
    echo "(no corpus clip in .corpus: make corpus; transcription checks skipped)"
fi

step "systemd-analyze verify (unit as installed, --root=chroot; Documentation= man page from the chroot)"
verify_out=$(MANPATH="$root/usr/share/man" systemd-analyze verify --root="$root" /lib/systemd/system/dropscribe.service 2>&1) || { echo "$verify_out"; fail "systemd-analyze verify"; }
[ -z "$verify_out" ] || { echo "$verify_out"; fail "systemd-analyze verify printed warnings"; }
echo "systemd-analyze verify: no warnings"
systemd-analyze security --offline=true "$root/lib/systemd/system/dropscribe.service" 2>&1 | tail -1

if [ -n "${DROPSCRIBE_DEB_TEST_BOOT:-}" ] && [ -n "$clip" ]; then
    step "the unit under a real systemd: boot the root with systemd-nspawn (DROPSCRIBE_DEB_TEST_BOOT)"
    command -v systemd-nspawn >/dev/null \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd-container </dev/null
    in_root apt-get install -y -q --no-install-recommends systemd-sysv dbus </dev/null >"$work/boot-install.log" 2>&1 \
        || { tail -20 "$work/boot-install.log"; fail "apt-get install systemd-sysv dbus"; }
    rm -rf "$root"/srv/dropscribe/inbox/* "$root"/srv/dropscribe/transcripts/*
    cleanup
    systemd-nspawn -D "$root" --boot --register=no --keep-unit --console=passive --machine=dropscribe-deb-test \
        >"$work/boot.log" 2>&1 &
    nspawn=$!
    init=""
    for _ in $(seq 1 100); do init=$(pgrep -P "$nspawn" -x systemd || true); [ -n "$init" ] && break; sleep 0.2; done
    [ -n "$init" ] || { cat "$work/boot.log"; fail "the container did not boot"; }
    in_box() { nsenter -t "$init" -a /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
    stop_box() { kill -TERM "$nspawn" 2>/dev/null || true; wait "$nspawn" 2>/dev/null || true; }
    for _ in $(seq 1 120); do [ "$(in_box systemctl is-active dropscribe 2>/dev/null)" = active ] && break; sleep 0.5; done
    [ "$(in_box systemctl is-active dropscribe)" = active ] \
        || { in_box systemctl status dropscribe --no-pager; stop_box; fail "dropscribe.service is not active (Type=notify: READY=1)"; }
    in_box systemctl show dropscribe -p ActiveState -p SubState -p StatusText -p User
    job="/srv/dropscribe/inbox/boot.${clip##*.}"
    cp "$clip" "$root$job" && chmod 664 "$root$job"
    for _ in $(seq 1 120); do [ -f "$root$job.done" ] && break; sleep 0.5; done
    [ -f "$root$job.done" ] || { in_box journalctl -u dropscribe --no-pager | tail -30; stop_box; fail "the service did not finish a dropped file"; }
    in_box dropscribe health --config /etc/dropscribe/config.toml || { stop_box; fail "health under systemd"; }
    in_box systemctl stop dropscribe
    result=$(in_box systemctl show dropscribe -p Result -p ExecMainStatus --value | tr '\n' ' ')
    echo "after systemctl stop: Result ExecMainStatus = $result"
    in_box journalctl -u dropscribe --no-pager | grep -E "watching|done|stopped|Started|Stopped|Deactivated" | cut -c1-160
    stop_box
    [ "$result" = "success 0 " ] || fail "the service did not stop cleanly"
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    mount -t devpts devpts "$root/dev/pts"
fi

step "postinst without network: succeeds and explains"
rm -rf "$root/var/lib/dropscribe/models/tiny.en"
offline=$(unshare --net chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /var/lib/dpkg/info/dropscribe.postinst configure 2>&1) \
    || { echo "$offline"; fail "postinst failed offline"; }
echo "$offline" | tail -8
echo "$offline" | grep -q "could not be fetched" || fail "no explanation offline"

step "purge"
in_root apt-get purge -y -q dropscribe </dev/null >/dev/null
in_root test ! -e /usr/bin/dropscribe || fail "binary left after purge"
in_root test ! -e /etc/dropscribe/config.toml || fail "config left after purge"

step "PASSED ($(basename "$deb"))"
