#!/usr/bin/env bash
# Unpack Debian data packages into the project data folder (no root needed beyond `apt-get update`).
# Usage: scripts/fetch-debs.sh PACKAGE...
set -euo pipefail
root="${PAPERZOO_DATA:-$(cd "$(dirname "$0")/.." && pwd)/data}"
mkdir -p "$root/debs" "$root/debian"
cd "$root/debs"
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
updated=0
for pkg in "$@"; do
  if ! compgen -G "${pkg}_*.deb" >/dev/null; then
    if ! apt-get download "$pkg" 2>/dev/null; then
      if [ "$updated" -eq 0 ]; then sudo_if_needed apt-get update -qq; updated=1; fi
      apt-get download "$pkg"
    fi
  fi
  dpkg -x "$(compgen -G "${pkg}_*.deb" | head -n 1)" "$root/debian"
  echo "unpacked $pkg into $root/debian"
done
