"""Run the side-by-side suite: `python -m bench` (full, a few minutes) or `python -m bench --quick` (< 1 min).

Run it as `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench`: those variables cap NumPy's
float32 matmul on these machines (see docs/performance.md). The report is printed and written to
bench/RESULTS.md (the quick mode writes nowhere unless --output is given).
"""

from __future__ import annotations

import argparse
import os
import sys

from . import suite


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 rounds, no torch.compile/keras-jax")
    parser.add_argument("--repeats", type=int, help="interleaved rounds (default 5, 3 with --quick)")
    parser.add_argument("--threads", type=int, help="threads for every peer, one pass (default: two passes, all "
                                                    "cores then 1; 1 alone with --quick, which must stay fast on a "
                                                    "busy machine)")
    parser.add_argument("--peers", help="comma-separated subset, e.g. neurona,torch eager")
    parser.add_argument("--workloads", help=f"comma-separated subset of {','.join(suite.WORKLOADS)}")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile breakdown of neurona's fit")
    parser.add_argument("--output", help="where to write the Markdown report (default bench/RESULTS.md; "
                                         "none with --quick)")
    args = parser.parse_args(argv)
    if args.workloads:
        unknown = set(args.workloads.split(",")) - set(suite.WORKLOADS)
        if unknown:
            parser.error(f"unknown workload(s) {sorted(unknown)}; choose from {list(suite.WORKLOADS)}")
    default_out = None if args.quick else os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    cfg = suite.Config(
        quick=args.quick,
        repeats=args.repeats or (3 if args.quick else 5),
        min_time=0.05 if args.quick else 0.3,
        threads=args.threads or (1 if args.quick else os.cpu_count() or 1),
        thread_counts=None if args.threads or args.quick else (os.cpu_count() or 1, 1),
        peers=args.peers.split(",") if args.peers else None,
        workloads=args.workloads.split(",") if args.workloads else None,
        predict_samples=500 if args.quick else suite.PREDICT_SAMPLES,
        memory=not args.quick,
        profile=not args.no_profile and not args.quick,
        output=args.output or default_out,
    )
    if "OPENBLAS_CORETYPE" in os.environ:
        print("note: OPENBLAS_CORETYPE is set, which caps NumPy's float32 matmul here; for representative numbers "
              "run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench", file=sys.stderr)
    info = suite.run(cfg, log=lambda s: print(s, file=sys.stderr, flush=True))
    print(info["text"])
    if cfg.output:
        print(f"(written to {cfg.output})", file=sys.stderr)
    return info


if __name__ == "__main__":
    main()
