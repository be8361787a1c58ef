"""The one-line explanation of skipped and deselected tests printed at the end of a run (tests/conftest.py)."""

from types import SimpleNamespace

from conftest import skip_summary


def skip(reason: str) -> SimpleNamespace:
    return SimpleNamespace(longrepr=("tests/test_x.py", 3, f"Skipped: {reason}"))


def test_skips_are_grouped_by_the_module_to_install():
    reports = [skip("could not import 'keras': No module named 'keras'")] * 3 + \
              [skip("could not import 'torch': No module named 'torch'")] * 5 + \
              [skip("could not import 'sklearn.neural_network': No module named 'sklearn'"), skip("needs 2 cores")]
    lines = skip_summary(reports, 146, "not slow")
    assert lines[0] == ("9 tests skipped: install torch keras sklearn (pip install torch keras scikit-learn) "
                        "to run them (keras on its torch backend: KERAS_BACKEND=torch)")
    assert lines[1] == "1 test skipped for other reasons (pytest -rs lists them)"
    assert lines[2] == "146 slow tests deselected: run them with pytest -m slow (list them with pytest -m slow --co -q)"


def test_free_form_skip_reasons_name_their_module_too():
    reports = [skip("tensorflow is not installed"), skip("keras (with a working backend) is not installed"),
               skip("docs/data.md:12 needs pandas, an optional dependency"), skip("needs KERAS_BACKEND=torch")]
    lines = skip_summary(reports, 0, "not slow")
    assert lines == ["3 tests skipped: install keras pandas tensorflow (pip install keras pandas tensorflow) to run "
                     "them (keras on its torch backend: KERAS_BACKEND=torch)",
                     "1 test skipped for other reasons (pytest -rs lists them)"]


def test_nothing_to_say_when_nothing_was_skipped():
    assert skip_summary([], 0, "not slow") == []
    assert skip_summary([skip("could not import 'tqdm': x")], 1, "not slow") == [
        "1 test skipped: install tqdm (pip install tqdm) to run it",
        "1 slow test deselected: run them with pytest -m slow (list them with pytest -m slow --co -q)"]
    assert skip_summary([], 5, "slow") == []  # deselected by the user's own -m: not the slow tests
