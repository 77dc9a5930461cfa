"""Speed of course_lib's dropout layer against baselines, as ratios measured in the same run.

    python benchmarks/bench_dropout.py [--elements N] [--repeats R]

Each contender runs a forward and a backward pass of inverted dropout on the same float32
array; the best of R runs is reported, relative to course_lib (ratio > 1: slower than course_lib).
Absolute times on a shared machine are noisy; their ratios within one run are what to compare.
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

from course_lib.dropout import dropout_backward, dropout_forward
from course_lib.masks import sample_mask


def naive(x, dout, p_drop, rng):
    """The textbook version: float64 uniforms, a comparison and a division."""
    keep_prob = 1 - p_drop
    mask = (rng.random(x.shape) < keep_prob) / keep_prob
    return x * mask, dout * mask


def float32_uniforms(x, dout, p_drop, rng):
    """The same with float32 uniforms and a boolean mask."""
    keep_prob = np.float32(1 - p_drop)
    mask = rng.random(x.shape, dtype=np.float32) < keep_prob
    return x * mask / keep_prob, dout * mask / keep_prob


def course_lib_layer(x, dout, p_drop, rng):
    out, cache = dropout_forward(x, p_drop, rng=rng)
    return out, dropout_backward(dout, cache)


def torch_contender():
    try:
        import torch  # pyright: ignore[reportMissingImports] (optional: the bench extra)
    except ImportError:
        return None
    torch.set_num_threads(2)

    def run(x_t, dout_t, p_drop, rng):
        x_t.grad = None
        out = torch.nn.functional.dropout(x_t, p_drop, training=True)
        out.backward(dout_t)
        return out, x_t.grad

    return torch, run


def best_of(fn, repeats: int) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeats))


def main(argv=None) -> list[tuple[str, float]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--elements", type=int, default=1 << 24)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--p-drop", type=float, default=0.3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(args.elements, dtype=np.float32)
    dout = rng.standard_normal(args.elements, dtype=np.float32)
    timings = {
        "course_lib dropout_forward + dropout_backward": best_of(
            lambda: course_lib_layer(x, dout, args.p_drop, rng), args.repeats
        ),
        "course_lib sample_mask alone": best_of(
            lambda: sample_mask(x.shape, args.p_drop, rng=rng), args.repeats
        ),
        "naive NumPy (float64 uniforms, scaled mask)": best_of(
            lambda: naive(x, dout, args.p_drop, rng), args.repeats
        ),
        "NumPy with float32 uniforms": best_of(
            lambda: float32_uniforms(x, dout, args.p_drop, rng), args.repeats
        ),
    }
    contender = torch_contender()
    if contender is not None:
        torch, run = contender
        x_t = torch.from_numpy(x.copy()).requires_grad_()
        dout_t = torch.from_numpy(dout)
        timings[f"torch {torch.__version__} F.dropout forward + backward"] = best_of(
            lambda: run(x_t, dout_t, args.p_drop, rng), args.repeats
        )
    baseline = timings["course_lib dropout_forward + dropout_backward"]
    print(f"{args.elements:,} float32 elements, p_drop={args.p_drop}, best of {args.repeats}")
    ratios = []
    for name, seconds in timings.items():
        ratios.append((name, seconds / baseline))
        print(f"  {name:52s} {1e3 * seconds:8.1f} ms   ratio {seconds / baseline:5.2f}")
    if contender is None:
        print("  (PyTorch not installed: pip install -e '.[bench]' to compare with it)")
    return ratios


if __name__ == "__main__":
    main()
