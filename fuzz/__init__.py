"""neurona's fuzz harness: hostile inputs for every file parser, judged by one oracle.

`python -m fuzz --seconds N [--target NAME]` mutates seed files made by neurona's own writers and feeds
them to the readers (`load_model`, safetensors, the Keras importers, IDX, CIFAR, npz, the CLI's CSV
reader). See docs/fuzzing.md.
"""

import sys
from pathlib import Path

_SRC = str(Path(__file__).resolve().parents[1] / "src")
if _SRC not in sys.path:  # fuzz this checkout's neurona, not another installed copy
    sys.path.insert(0, _SRC)
