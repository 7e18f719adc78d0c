"""What the command line prints: plain progress lines with an estimate and ETA when not
on a terminal, usage errors as one red line, and the shipped example specs."""

from __future__ import annotations

import io

from rich.console import Console

from trademl.cli._progress import RunDisplay, TrialClock, format_duration


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_progress_lines_give_an_estimate_and_an_eta():
    out = io.StringIO()
    display = RunDisplay(console=Console(file=out, width=100, force_terminal=False))
    assert not display.live  # output is not a terminal
    clock = FakeClock()
    display._clock = TrialClock(clock=clock)
    display.stage("tuning (4 trials x 3 folds = 12 fits at most)", 3)
    display.trial(0, 4, None)
    for fold in (1, 2, 3):
        display.fold(0, fold, 3)
    clock.now = 10.0
    display.trial(1, 4, 0.5)
    display.trial(1, 4, 0.5)  # polled again (parallel workers): said once
    clock.now = 20.0
    display.trial(2, 4, 0.7)
    clock.now = 40.0
    display.trial(4, 4, 0.7)
    lines = out.getvalue().splitlines()
    assert "stage 3/7: tuning (4 trials x 3 folds = 12 fits at most)" in lines[0]
    assert lines[1] == "  trial 1/4, best 0.5000"
    assert lines[2] == (
        "  the first trial took 10 s: about 30 s for the 3 trial(s) left (9 fits); "
        "pruned trials take less"
    )
    assert lines[3].startswith("  trial 2/4, best 0.7000, 10 s per trial, ETA 20 s (")
    assert lines[4] == "  trial 4/4, best 0.7000"
    assert len(lines) == 5


def test_format_duration():
    assert format_duration(4.25) == "4.2 s"
    assert format_duration(42) == "42 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(3720) == "1 h 02 min"


def test_usage_errors_are_one_red_line(cli):
    for args, text in (
        (("models", "promote"), "error: Missing argument 'name'."),
        (("run", "--bogus", "x.yaml"), "error: No such option: --bogus"),
        (("models", "promote", "m", "two"), "error: Invalid value for 'version'"),
        (("nosuch",), "error: No such command 'nosuch'."),
    ):
        code, out, err = cli(*args)
        assert code == 2, (args, err)
        assert err.startswith(text), err
        assert len(err.strip().splitlines()) == 1 and "╭" not in err
        assert "--help" in err
    code, out, _ = cli("monitor")  # a group alone shows its help
    assert code == 2 and "check" in out


def test_examples_list_and_copy(cli, tmp_path):
    code, out, err = cli("examples", "list")
    assert code == 0, err
    assert "btc_1h_lightgbm" in out and "btc_1h_full_100_trials" in out
    code, out, err = cli("examples", "copy", "btc_1h_lightgbm", tmp_path)
    assert code == 0, err
    copied = tmp_path / "btc_1h_lightgbm.yaml"
    from trademl.config import load_spec
    from trademl.examples import example_path

    assert copied.read_text() == example_path("btc_1h_lightgbm").read_text()
    assert load_spec(copied).name == "btc-1h-lightgbm"
    code, _, err = cli("examples", "copy", "btc_1h_lightgbm", tmp_path)
    assert code == 2 and "exists; pass --force" in err
    code, _, err = cli("examples", "copy", "btc_1h_lightgbm.yaml", copied, "--force")
    assert code == 0, err
    code, _, err = cli("examples", "copy", "nope", tmp_path)
    assert code == 2 and "no example named 'nope'; examples: btc_1h_full_100_trials" in err


def test_repository_examples_are_the_package_files():
    from pathlib import Path

    from trademl.examples import example_names, example_path

    root = Path(__file__).resolve().parents[1] / "examples"
    for name in example_names():
        assert (root / f"{name}.yaml").resolve() == example_path(name).resolve()
