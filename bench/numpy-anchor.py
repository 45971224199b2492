"""The anchor for admove's Opt kernel: the same pass in numpy + BLAS, float32, one thread.

Run by bench/micro.ts as `python3 bench/numpy-anchor.py DIR`, one process for the whole
comparison; DIR holds what admove's kernel was given: meta.json {n, inputs, hidden, outputs},
features.f32 (n x inputs, row-major), labels.i32, weights.f64 (admove's flat layout, see
apps/opt/model/network.ts). After a warm-up pass it prints one JSON line (numpy's version and
the BLAS it used), then answers each line on stdin: `pass` runs one timed pass and prints
{"ms": …}; `done` writes gradient.f64 (the summed gradient, admove's accumulator layout
without the first two entries) beside the inputs, prints {"error": …} and exits. So the
caller can alternate single passes of admove and numpy on the same machine state. The caller
pins one thread (OPENBLAS_NUM_THREADS=1 etc.).
"""

import ctypes
import glob
import json
import os
import sys
import time

import numpy as np


def blas_info():
    """numpy's build-time BLAS, and OpenBLAS's own word on its kernel and threads when it answers."""
    info = {}
    try:
        deps = np.show_config(mode="dicts").get("Build Dependencies", {})
        blas = deps.get("blas", {})
        info = {"name": blas.get("name"), "version": blas.get("version"), "config": blas.get("openblas configuration")}
    except Exception as error:  # older numpy: show_config has no dicts mode
        info = {"error": str(error)}
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_openblas", "openblas"):
                for suffix in ("64_", ""):
                    core = getattr(lib, f"{prefix}_get_corename{suffix}", None)
                    threads = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    if core is not None and threads is not None:
                        core.restype = ctypes.c_char_p
                        info["coretype"] = core().decode()
                        info["threads"] = threads()
                        return info
        except OSError:
            pass
    return info


def main(folder):
    meta = json.load(open(os.path.join(folder, "meta.json")))
    n, I, H, O = meta["n"], meta["inputs"], meta["hidden"], meta["outputs"]
    X = np.fromfile(os.path.join(folder, "features.f32"), dtype=np.float32).reshape(n, I)
    labels = np.fromfile(os.path.join(folder, "labels.i32"), dtype=np.int32)
    w = np.fromfile(os.path.join(folder, "weights.f64"), dtype=np.float64)
    b1_at, w2_at = H * I, H * I + H
    b2_at = w2_at + O * H
    W1 = w[:b1_at].reshape(H, I).astype(np.float32)
    b1 = w[b1_at:w2_at].astype(np.float32)
    W2 = w[w2_at:b2_at].reshape(O, H).astype(np.float32)
    b2 = w[b2_at:].astype(np.float32)
    onehot = np.zeros((n, O), dtype=np.float32)
    onehot[np.arange(n), labels] = 1

    def pass_():
        """Summed softmax cross-entropy and its gradient, as admove's accumulator holds them."""
        h = 1 / (1 + np.exp(-(X @ W1.T + b1)))
        a = h @ W2.T + b2
        a -= a.max(axis=1, keepdims=True)
        e = np.exp(a)
        s = e.sum(axis=1, keepdims=True)
        error = float(np.sum(np.log(s[:, 0]) - a[np.arange(n), labels]))
        da = e / s - onehot
        dh = (da @ W2) * h * (1 - h)
        return error, dh.T @ X, dh.sum(axis=0), da.T @ h, da.sum(axis=0)

    result = pass_()  # warm-up
    print(json.dumps({"numpy": np.__version__, "python": sys.version.split()[0], "blas": blas_info()}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "pass":
            t = time.perf_counter()
            result = pass_()
            print(json.dumps({"ms": (time.perf_counter() - t) * 1000}), flush=True)
        elif command == "done":
            break
    error, gW1, gb1, gW2, gb2 = result
    gradient = np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2]).astype(np.float64)
    gradient.tofile(os.path.join(folder, "gradient.f64"))
    print(json.dumps({"error": error}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
