"""Speed of course_lib's dropout layer against baselines, as ratios measured in the same run.

    python benchmarks/bench_dropout.py [--elements N [N ...]] [--repeats R]

Each contender runs a forward and a backward pass of inverted dropout on the same float32
array; the best of R runs (more for arrays under 4M elements) is reported, relative to
course_lib (ratio > 1: slower than course_lib). Absolute times on a shared machine are noisy;
their ratios within one run are what to compare.

Two ratios have targets, printed next to them for every size:

* the speed-up of course_lib over the naive NumPy layer (float64 uniforms, a scaled float mask):
  at least 2.5;
* course_lib's time over the **memory floor**, the least memory traffic any forward and backward
  pass must do: one read of ``x`` and one write of ``out``, then one read of ``dout`` and one
  write of ``dx``, into arrays allocated once: at most 8.

The floor is a lower bound that no dropout layer reaches, and errs against course_lib. It is
timed two ways in the same run, ``np.multiply(x, s, out=out)`` and a plain ``np.copyto(out, x)``
(each followed by the same on ``dout`` and ``dx``), and the faster one counts. It leaves out what
any exact layer must add: drawing the mask (16 random bits per entry here), and writing the mask
and reading it back (1 byte per entry each way, an eighth more than the floor's 16 bytes). Its
output arrays are allocated once and stay in the CPU cache from run to run, where course_lib
allocates ``out``, the mask and ``dx`` at every call, as its pure functions must.

Every contender runs once before any is timed. The memory allocator (glibc's) raises its
thresholds as large blocks are freed; without the warm-up, whichever contender is timed first
pays page faults for fresh memory that the later ones do not, which at 1M elements costs more
than the computation. For course_lib it is the naive contender's warm-up that matters: it frees
blocks of 8 MB, after which the 9 MB that a forward and backward pass on 1M float32 entries
allocate and free stays with the process. In a fresh interpreter where nothing larger than the
layer's own 4 MB arrays has been freed, the allocator hands those 9 MB back to the system after
every pair of passes and the next pair page-faults on all of it (about 2,200 faults: 4.8 ms
instead of 1.3 ms on the 2-core machine where this was measured).
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import targets
from course_lib.dropout import dropout_backward, dropout_forward
from course_lib.masks import sample_mask

COURSE_LIB = "course_lib dropout_forward + dropout_backward"
NAIVE = "naive NumPy (float64 uniforms, scaled mask)"
FLOOR_BY_MULTIPLY = "memory floor by np.multiply (x*s -> out, dout*s -> dx)"
FLOOR_BY_COPY = "memory floor by np.copyto (x -> out, dout -> dx)"
FLOOR = "memory floor: the faster of the two"
TARGET_SPEEDUP_OVER_NAIVE = 2.5
TARGET_TIMES_FLOOR = 8.0


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


def memory_floor(x, dout, p_drop):
    """One pass over each array: what a layer that had its mask for free would still cost."""
    out, dx = np.empty_like(x), np.empty_like(dout)
    scale = np.float32(1 / (1 - p_drop))

    def run():
        np.multiply(x, scale, out=out)
        np.multiply(dout, scale, out=dx)
        return out, dx

    return run


def memory_floor_by_copy(x, dout):
    """The same traffic as a plain copy, in case a copy runs faster than a multiplication."""
    out, dx = np.empty_like(x), np.empty_like(dout)

    def run():
        np.copyto(out, x)
        np.copyto(dx, dout)
        return out, dx

    return run


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


def measure(n_elements: int, p_drop: float, repeats: int) -> dict[str, float]:
    """Best time in seconds of every contender on ``n_elements`` float32 entries."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n_elements, dtype=np.float32)
    dout = rng.standard_normal(n_elements, dtype=np.float32)
    contenders = {
        COURSE_LIB: lambda: course_lib_layer(x, dout, p_drop, rng),
        "course_lib sample_mask alone": lambda: sample_mask(x.shape, p_drop, rng=rng),
        NAIVE: lambda: naive(x, dout, p_drop, rng),
        "NumPy with float32 uniforms": lambda: float32_uniforms(x, dout, p_drop, rng),
        FLOOR_BY_MULTIPLY: memory_floor(x, dout, p_drop),
        FLOOR_BY_COPY: memory_floor_by_copy(x, dout),
    }
    contender = torch_contender()
    if contender is not None:
        torch, run = contender
        x_t = torch.from_numpy(x.copy()).requires_grad_()
        dout_t = torch.from_numpy(dout)
        contenders[f"torch {torch.__version__} F.dropout forward + backward"] = lambda: run(
            x_t, dout_t, p_drop, rng
        )
    for fn in contenders.values():  # warm-up: see the module's docstring
        fn()
    timings = {name: best_of(fn, repeats) for name, fn in contenders.items()}
    timings[FLOOR] = min(timings[FLOOR_BY_MULTIPLY], timings[FLOOR_BY_COPY])
    return timings


def main(argv=None) -> list[tuple[str, float]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--elements", type=int, nargs="+", default=[1_000_000, 1 << 24])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--p-drop", type=float, default=0.3)
    args = parser.parse_args(argv)
    ratios = []
    for n_elements in args.elements:
        # smaller arrays take more runs (up to 8 times as many): cheap, and the best of more
        # runs is steadier on a busy machine
        repeats = args.repeats * min(8, max(1, (1 << 24) // (4 * n_elements)))
        timings = measure(n_elements, args.p_drop, repeats)
        baseline = timings[COURSE_LIB]
        print(f"{n_elements:,} float32 elements, p_drop={args.p_drop}, best of {repeats}")
        for name, seconds in timings.items():
            ratios.append((name, seconds / baseline))
            print(f"  {name:55s} {1e3 * seconds:8.2f} ms   ratio {seconds / baseline:5.2f}")
        speedup = timings[NAIVE] / baseline
        times_floor = baseline / timings[FLOOR]
        print(
            f"  speed-up over naive NumPy: {speedup:.2f}x "
            f"(target >= {TARGET_SPEEDUP_OVER_NAIVE}x: "
            f"{'met' if speedup >= TARGET_SPEEDUP_OVER_NAIVE else 'NOT met'})"
        )
        print(
            f"  time / memory floor:       {times_floor:.2f}x "
            f"(target <= {TARGET_TIMES_FLOOR}x: "
            f"{'met' if times_floor <= TARGET_TIMES_FLOOR else 'NOT met'})"
        )
        layer = f"dropout fwd+bwd, {n_elements:,} float32"
        targets.record(
            f"{layer}: speed-up over naive NumPy",
            f"{speedup:.2f}x",
            f">= {TARGET_SPEEDUP_OVER_NAIVE}x",
            speedup >= TARGET_SPEEDUP_OVER_NAIVE,
        )
        targets.record(
            f"{layer}: time / memory floor",
            f"{times_floor:.2f}x",
            f"<= {TARGET_TIMES_FLOOR}x",
            times_floor <= TARGET_TIMES_FLOOR,
        )
    if torch_contender() is None:
        print("  (PyTorch not installed: pip install -e '.[bench]' to compare with it)")
    return ratios


if __name__ == "__main__":
    main()
