#!/usr/bin/env bash
# Install the Debian packages dropscribe builds and tests with, if any are missing.
# Never prompts (CI runs with no standard input).
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The model set-up needs python3 with pip (any python3: Debian's or another one on PATH).
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3 python3-pip)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
