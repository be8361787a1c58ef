"""The size rules of docs/architecture.md, checked: no module over 500 lines (split by concept instead), and the
engine core — what a reader studies to understand autodiff — stays under 1,600 lines in all."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "neurona"
MODULE_LIMIT = 500
ENGINE_CORE = ("tensor.py", "autodiff.py", "ops/math.py", "ops/shape.py", "ops/nn.py")
ENGINE_LIMIT = 1600


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_over_500_lines():
    over = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := _lines(p)) > MODULE_LIMIT}
    assert not over, f"modules over {MODULE_LIMIT} lines (split them by concept): {over}"


def test_engine_core_stays_small():
    sizes = {name: _lines(SRC / name) for name in ENGINE_CORE}
    assert sum(sizes.values()) <= ENGINE_LIMIT, f"engine core is {sum(sizes.values())} lines > {ENGINE_LIMIT}: {sizes}"
