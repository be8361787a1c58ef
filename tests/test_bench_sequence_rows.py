"""The bench suite's LSTM and small-transformer rows run with their peers (never a speed assertion)."""

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench/` lives next to `src/`, outside the installed package
    sys.path.insert(0, str(ROOT))

from bench import peers, suite  # noqa: E402


def test_sequence_rows_run_with_the_floor():
    cfg = suite.Config(quick=True, repeats=2, min_time=0.001, threads=1, peers=("neurona", "numpy floor"),
                       profile=False, memory=False)
    for key, n in (("lstm", 128), ("transformer", 64)):
        wl = suite.WORKLOADS[key]
        for task in suite.TASKS:
            cells = suite.run_task(cfg, wl, task, suite.make_data(wl, n), n, None, None, lambda s: None)
            assert cells["neurona"].samples and all(math.isfinite(v) and v > 0 for v in cells["neurona"].samples)
            # the hand-written floors ran: bench/lstm.py's LSTMFloor, bench/transformer_floor.py's TransformerFloor
            assert cells["numpy floor"].samples and cells["numpy floor"].skipped is None


def test_sequence_shapes_params_and_flops():
    lstm, tf = suite.WORKLOADS["lstm"], suite.WORKLOADS["transformer"]
    assert peers.shapes(lstm) == [(50, 8), (64,), (10,)]
    assert peers.shapes(tf)[-2:] == [(64,), (10,)]
    # Keras's counts: LSTM(64) on 8 features 18,688; a KerasHub encoder block with d_model 64, ff 128: 33,472
    assert peers.neurona_weights_bytes(lstm) == 4 * (18_688 + 650)
    assert peers.sequence_params(("transformer", 4, 128), (64, 64)) == 33_472
    total, first = suite.forward_flops(lstm)
    assert total == 2.0 * 50 * (8 + 64) * 256 + 2.0 * 64 * 10 and first == 2.0 * 50 * 8 * 256
