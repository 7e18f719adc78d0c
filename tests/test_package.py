import subprocess
import sys

import trademl


def test_version_and_lazy_top_level():
    assert trademl.__version__ == "0.1.0"
    # heavy libraries are not imported by `import trademl`
    code = "import sys, trademl; print('torch' in sys.modules, 'mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_cli_version(cli):
    code, out, _ = cli("--version")
    assert code == 0
    assert "trademl 0.1.0" in out


def test_cli_unknown_command_is_usage_error(cli):
    code, _, err = cli("no-such-command")
    assert code == 2
    assert "No such command" in err


def test_spec_errors_name_the_field(tmp_path):
    import pytest

    from trademl.errors import SpecError

    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: lots\nunknown_section: {}\n")
    with pytest.raises(SpecError) as info:
        trademl.load_spec(bad)
    message = str(info.value)
    assert 'seed: expected int, got "lots"' in message
    assert "unknown_section: unknown key" in message
