"""Speed of training course_lib's MLP at the defaults students use, against PyTorch on the CPU.

    python benchmarks/bench_mlp.py [--repeats R]

The loop: a 64-256-256-10 network with p_drop 0.3 on both hidden layers, on 1000 training
digits (scikit-learn's load_digits), 20 epochs of mini-batches of 50, SGD with momentum 0.9 at
learning rate 0.05, the training loss and error measured after every epoch (what
``course_lib.nn.train`` does). course_lib runs with ``MLP(...)`` and ``train(...)`` at their
defaults; PyTorch, if it is installed (``pip install -e '.[bench]'``), runs the same network
(Linear, ReLU, Dropout), the same batches and the same optimizer in float32 on 2 threads.

The best of R runs of each is reported, and their ratio: the speed-up of course_lib over PyTorch
on 2 threads, whose target is at least 1.5. PyTorch on 1 thread is timed too, for reference: on
a machine whose cores are busy with other work, PyTorch's two threads wait for each other and
the 2-thread time says more about the load than about either library.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import targets
from course_lib.data import load_digits_split
from course_lib.nn import MLP, train

LAYER_SIZES = (64, 256, 256, 10)
P_DROP, EPOCHS, BATCH_SIZE, LR, MOMENTUM, N_TRAIN = 0.3, 20, 50, 0.05, 0.9, 1000
TARGET_SPEEDUP_OVER_TORCH = 1.5


def digits() -> tuple[np.ndarray, np.ndarray]:
    split = load_digits_split(N_TRAIN, rng=np.random.default_rng(0), n_val=0, n_test=0)
    return split.X_train, split.y_train


def course_lib_run(X: np.ndarray, y: np.ndarray, seed: int) -> float:
    """Seconds to build and train the network with course_lib at its defaults."""
    started = time.perf_counter()
    model = MLP(LAYER_SIZES, P_DROP, rng=np.random.default_rng(seed))
    train(model, X, y, epochs=EPOCHS, lr=LR, batch_size=BATCH_SIZE, rng=np.random.default_rng(seed))
    return time.perf_counter() - started


def torch_run(torch, X: np.ndarray, y: np.ndarray, seed: int) -> float:
    """Seconds to build and train the same network with PyTorch (float32, CPU)."""
    nn, functional = torch.nn, torch.nn.functional
    started = time.perf_counter()
    torch.manual_seed(seed)
    sizes = LAYER_SIZES
    model = nn.Sequential(
        nn.Linear(sizes[0], sizes[1]),
        nn.ReLU(),
        nn.Dropout(P_DROP),
        nn.Linear(sizes[1], sizes[2]),
        nn.ReLU(),
        nn.Dropout(P_DROP),
        nn.Linear(sizes[2], sizes[3]),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    X_t = torch.from_numpy(X.astype(np.float32))
    y_t = torch.from_numpy(y)
    rng = np.random.default_rng(seed)
    for _ in range(EPOCHS):
        model.train()
        order = torch.from_numpy(rng.permutation(len(X)))
        for start in range(0, len(X), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = functional.cross_entropy(model(X_t[batch]), y_t[batch])
            loss.backward()
            optimizer.step()
        model.eval()  # the training loss and error after the epoch, as course_lib's train
        with torch.no_grad():
            logits = model(X_t)
            float(functional.cross_entropy(logits, y_t))
            float((logits.argmax(dim=1) != y_t).float().mean())
    return time.perf_counter() - started


def main(argv=None) -> float | None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    X, y = digits()
    try:
        import torch  # pyright: ignore[reportMissingImports] (optional: the bench extra)
    except ImportError:
        torch = None
    course_lib_times, torch_times, torch_one_thread_times = [], [], []
    course_lib_run(X, y, 0)  # warm-up: imports, caches, the allocator
    if torch is not None:
        torch_run(torch, X, y, 0)
    for repeat in range(args.repeats):  # interleaved, so all see the same machine load
        course_lib_times.append(course_lib_run(X, y, repeat))
        if torch is not None:
            torch.set_num_threads(2)
            torch_times.append(torch_run(torch, X, y, repeat))
            torch.set_num_threads(1)
            torch_one_thread_times.append(torch_run(torch, X, y, repeat))
    sizes = "-".join(map(str, LAYER_SIZES))
    print(
        f"MLP {sizes}, p_drop={P_DROP}, {N_TRAIN} digits, {EPOCHS} epochs, batches of "
        f"{BATCH_SIZE}, lr {LR}, momentum {MOMENTUM}; best of {args.repeats}"
    )
    best = min(course_lib_times)
    print(f"  {'course_lib MLP + train at their defaults':46s} {best:7.3f} s")
    measure = "MLP training at the defaults: speed-up over PyTorch CPU"
    target = f">= {TARGET_SPEEDUP_OVER_TORCH}x"
    if torch is None:
        print("  (PyTorch not installed: pip install -e '.[bench]' to compare with it)")
        targets.record(measure, "PyTorch not installed", target, None)
        return None
    best_torch = min(torch_times)
    speedup = best_torch / best
    print(f"  {f'torch {torch.__version__} (CPU, float32, 2 threads)':46s} {best_torch:7.3f} s")
    best_one_thread = min(torch_one_thread_times)
    print(
        f"  {'the same on 1 thread (for reference)':46s} {best_one_thread:7.3f} s"
        f"   course_lib {best_one_thread / best:.2f}x faster"
    )
    verdict = "met" if speedup >= TARGET_SPEEDUP_OVER_TORCH else "NOT met"
    targets.record(measure, f"{speedup:.2f}x", target, speedup >= TARGET_SPEEDUP_OVER_TORCH)
    print(
        f"  speed-up of course_lib over PyTorch: {speedup:.2f}x "
        f"(target >= {TARGET_SPEEDUP_OVER_TORCH}x: {verdict})"
    )
    return speedup


if __name__ == "__main__":
    main()
