#!/usr/bin/env bash
# The text corpora inside the gensim wheel's gensim/test/test_data/ (mini_newsgroup, pang_lee_polarity.cor,
# lee.cor + similarities0-1.txt, the shortened enwiki dump), used by `paperzoo run multitask`.
# gensim itself is not installed (its pins do not fit ours and nothing imports it): pip downloads the one
# wheel named below (no dependencies), its sha256 is checked, and only these files are unpacked into
# $PAPERZOO_DATA/pypi/gensim/test/test_data (default: <repo>/data/...).
# Usage: scripts/fetch-gensim-testdata.sh [PYTHON]
set -euo pipefail
python="${1:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python}"
root="${PAPERZOO_DATA:-$(cd "$(dirname "$0")/.." && pwd)/data}"
version=4.3.3
wheel="gensim-${version}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
sha256=d662bf96e3d741b6ab61a54be842a7cbf5e45193008b2f4225c758cafd7f9cdc
dest="$root/pypi/gensim/test/test_data"
files="mini_newsgroup pang_lee_polarity.cor lee.cor similarities0-1.txt \
enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
missing=0
for f in $files; do [ -f "$dest/$f" ] || missing=1; done
if [ "$missing" -eq 0 ]; then echo "gensim test data already in $dest"; exit 0; fi
mkdir -p "$root/wheels" "$dest"
if [ ! -f "$root/wheels/$wheel" ]; then
  "$python" -m pip download -q --no-deps --only-binary=:all: --implementation cp --python-version 3.11 \
    --platform manylinux_2_17_x86_64 -d "$root/wheels" "gensim==$version"
fi
echo "$sha256  $root/wheels/$wheel" | sha256sum -c --quiet -
"$python" - "$root/wheels/$wheel" "$dest" $files <<'EOF'
import sys, zipfile
from pathlib import Path
wheel, dest, names = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        data = z.read(f"gensim/test/test_data/{name}")
        tmp = dest / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(dest / name)
print(f"unpacked {len(names)} gensim test-data files into {dest}")
EOF
