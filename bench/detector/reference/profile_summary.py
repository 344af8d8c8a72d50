#!/usr/bin/python3
"""Sums Chrome traces written by ref_bench.py --profile / detector_side_bench --profile per op.

  profile_summary.py TRACE.json [TRACE2.json ...] [--top N]

Prints, per trace, the self time of each op (its duration minus that of the ops nested in it on
the same thread), grouped into rows by name, largest first, with its share of the traced time;
then the named groups (convolution, batch norm, ...) that the side-by-side note reports. Both
LibTorch's RecordProfile and torch.autograd.profiler write "X" events with ts/dur in microseconds.
"""
import collections
import json
import sys

GROUPS = [
    ("convolution fwd", ("mkldnn_convolution", "_slow_conv2d_forward", "thnn_conv2d", "_convolution")),
    ("convolution bwd", ("convolution_backward", "mkldnn_convolution_backward", "_slow_conv2d_backward")),
    ("matmul / BLAS", ("addmm", "mm", "bmm", "matmul", "linear")),
    ("batch norm", ("batch_norm", "native_batch_norm", "_batch_norm_impl_index", "BatchNorm")),
    ("elementwise (add, mul, relu, ...)", ("add", "mul", "relu", "threshold", "sub", "div", "sigmoid", "tanh", "exp", "rsqrt")),
    ("copies / layout", ("copy_", "contiguous", "clone", "to", "_to_copy", "cat", "stack", "permute", "index", "fill_", "zero_", "empty", "zeros")),
    ("interpolate", ("upsample", "interpolate")),
    ("loss ops", ("smooth_l1", "cross_entropy", "binary_cross_entropy", "log_softmax", "logsumexp", "sort", "nll_loss", "max", "argmax", "nonzero")),
    ("optimizer", ("sgd", "SGD", "Optimizer", "_foreach")),
]


def self_times(path):
    with open(path) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    per_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            per_thread[e.get("tid")].append((float(e["ts"]), float(e["dur"]), e["name"]))
    totals = collections.Counter()
    traced = 0.0
    for evs in per_thread.values():
        evs.sort(key=lambda x: (x[0], -x[1]))
        stack = []  # [end, name, self]
        for ts, dur, name in evs:
            while stack and ts >= stack[-1][0] - 1e-3:
                end, n, s = stack.pop()
                totals[n] += s
            if stack:
                stack[-1][2] -= dur
            else:
                traced += dur
            stack.append([ts + dur, name, dur])
        while stack:
            end, n, s = stack.pop()
            totals[n] += s
    return totals, traced


def group_of(name):
    bare = name.split("::")[-1]
    for group, keys in GROUPS:
        if any(bare == k or bare.startswith(k) or (k[0].isupper() and k in name) for k in keys):
            return group
    return "other"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    top = 15
    if "--top" in sys.argv:
        top = int(sys.argv[sys.argv.index("--top") + 1])
        args.remove(str(top))
    for path in args:
        totals, traced = self_times(path)
        print("%s: %.3f s traced (top-level ops)" % (path, traced / 1e6))
        for name, us in totals.most_common(top):
            print("  %-48s %8.3f s %5.1f %%" % (name[:48], us / 1e6, 100 * us / traced))
        groups = collections.Counter()
        for name, us in totals.items():
            groups[group_of(name)] += us
        print("  groups:")
        for g, us in groups.most_common():
            print("    %-40s %8.3f s %5.1f %%" % (g, us / 1e6, 100 * us / traced))


if __name__ == "__main__":
    main()
