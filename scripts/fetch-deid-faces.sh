#!/usr/bin/env bash
# Offline face photos for `paperzoo run deid`, from registry packages that ship them; only the images are kept.
#   face_recognition 1.3.0 sdist: tests/test_images (Obama x5, Biden)   -> data/pypi/face_recognition/tests/test_images
#   insightface 2.1 wheel: insightface/data/images (t1.jpg, Tom Hanks)   -> data/pypi/insightface/data/images
#   Debian opencv-doc: examples/data (messi5, basketball1/2, ml.png)     -> data/debian/usr/share/doc/opencv-doc/examples/data
# (scikit-image's astronaut comes with the installed scikit-image wheel.)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="${PAPERZOO_DATA:-$here/data}"
pip="${PIP:-$here/.venv/bin/pip}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fr="$root/pypi/face_recognition/tests/test_images"
if [ ! -f "$fr/obama.jpg" ]; then
  "$pip" download -q --no-deps --no-binary :all: face_recognition==1.3.0 -d "$tmp/fr"
  mkdir -p "$fr"
  tar -xzf "$tmp"/fr/face_recognition-1.3.0.tar.gz -C "$tmp/fr" --wildcards '*/tests/test_images/*'
  cp "$tmp"/fr/face_recognition-1.3.0/tests/test_images/*.{jpg,png} "$fr/"
fi
echo "face_recognition photos in $fr"

ins="$root/pypi/insightface/data/images"
if [ ! -f "$ins/t1.jpg" ]; then
  "$pip" download -q --no-deps insightface==2.1 -d "$tmp/if"
  mkdir -p "$ins"
  python3 - "$tmp"/if/insightface-2.1-*.whl "$ins" <<'PY'
import sys, zipfile, pathlib
wheel, out = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("insightface/data/images/") and name.lower().endswith((".jpg", ".png")):
            (out / pathlib.Path(name).name).write_bytes(z.read(name))
PY
fi
echo "insightface test images in $ins"

ocv="$root/debian/usr/share/doc/opencv-doc/examples/data"
if [ ! -f "$ocv/messi5.jpg" ]; then
  mkdir -p "$root/debs" "$ocv"
  cd "$root/debs"
  if ! compgen -G "opencv-doc_*.deb" >/dev/null; then
    apt-get download opencv-doc 2>/dev/null || { apt-get update -qq; apt-get download opencv-doc; }
  fi
  deb="$(compgen -G "opencv-doc_*.deb" | head -n 1)"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$root/debian" \
    ./usr/share/doc/opencv-doc/examples/data/messi5.jpg ./usr/share/doc/opencv-doc/examples/data/basketball1.png \
    ./usr/share/doc/opencv-doc/examples/data/basketball2.png ./usr/share/doc/opencv-doc/examples/data/ml.png
  rm -f "$deb"  # 95 MB for four images: keep only the images
fi
echo "OpenCV samples in $ocv"
