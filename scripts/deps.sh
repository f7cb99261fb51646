#!/usr/bin/env bash
# Installs what gale needs to build, test and run its examples on Debian 12,
# skipping what is already there. Uses sudo when not run as root.
set -euo pipefail

packages=(
  meson ninja-build pkg-config cmake g++ clang-14 libclang-rt-14-dev
  libasio-dev libfmt-dev libsimdjson-dev doctest-dev
  libssl-dev zlib1g-dev libpcre2-dev openssl
  python3 python3-tornado python3-websockets curl
  # the chat example's browser test and the deployment test behind nginx
  chromium nginx-light
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
