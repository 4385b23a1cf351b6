"""Upload preparation: the no-re-encode fast path against a full decode/re-encode, one run.

    python benchmarks/bench_upload.py [--runs 7]

A 2048x2048 photo-like image (gradients + noise); prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

from PIL import Image, ImageFilter

from apiedit.images import prepare_upload
from apiedit.types import ImageData


def photo(size: int = 2048) -> bytes:
    base = Image.radial_gradient("L").resize((size, size)).convert("RGB")
    noise = Image.effect_noise((size, size), 40).convert("RGB")
    img = Image.blend(base, noise, 0.3).filter(ImageFilter.SMOOTH)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    jpeg = ImageData(photo(), "image/jpeg")
    fast = median_ms(lambda: prepare_upload(jpeg), args.runs)
    budget = median_ms(lambda: prepare_upload(jpeg, max_pixels=1024 * 1024, prefer="image/jpeg"), args.runs)
    png = median_ms(lambda: prepare_upload(jpeg, formats=("image/png",)), args.runs)
    print(f"{'case':<46} {'median ms':>10} {'x fast path':>12}")
    for name, value in (("fast path (JPEG kept as-is)", fast),
                        ("downscale to 1 MP, JPEG", budget),
                        ("re-encode to PNG (provider wants PNG)", png)):
        print(f"{name:<46} {value:>10.2f} {value / fast:>12.0f}")


if __name__ == "__main__":
    main()
