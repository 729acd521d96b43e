"""scripts/setup_venv.sh installs with uv from the indexes pip is configured with
(scripts/uv_index_args.py): the options pip itself would use, in pip's order of precedence."""

import os
import subprocess
import sys
from pathlib import Path

from .helpers import load_script

SCRIPT = Path(__file__).parents[1] / "scripts" / "uv_index_args.py"


def test_the_environment_wins_over_the_install_section_over_the_global_one():
    translate = load_script("uv_index_args")
    listing = "\n".join([
        ":env:.find-links='/opt/wheels'",
        "global.find-links='/elsewhere'",
        "global.extra-index-url='file:///a/simple file:///b/simple'",
        "install.index-url='https://mirror.example/simple'",
        "global.index-url='https://pypi.org/simple'",
        "global.constraint='/etc/pip/constraints.txt'",
        "global.cert='/etc/ssl/bundle.crt'",
    ])
    settings = translate.settings_from(listing)
    assert settings["find-links"] == "/opt/wheels" and settings["index-url"] == "https://mirror.example/simple"
    assert translate.uv_args(settings) == [
        "--index-url", "https://mirror.example/simple",
        "--extra-index-url", "file:///a/simple", "--extra-index-url", "file:///b/simple",
        "--find-links", "/opt/wheels", "--constraint", "/etc/pip/constraints.txt"]
    assert translate.uv_args(translate.settings_from("global.no-index='true'")) == ["--no-index"]


def test_it_reads_what_pip_reads(tmp_path):
    """Through pip's own ``config list``: a PIP_* variable and an extra pip.conf's [install] section."""
    conf = tmp_path / "pip.conf"
    conf.write_text("[install]\nindex-url = https://mirror.example/simple\n[global]\ncert = /etc/ssl/bundle.crt\n")
    env = {**os.environ, "PIP_CONFIG_FILE": str(conf), "PIP_EXTRA_INDEX_URL": "file:///x/simple file:///y/simple"}
    run = [sys.executable, str(SCRIPT), sys.executable]
    args = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert args[:2] == ["--index-url", "https://mirror.example/simple"]
    assert args[2:6] == ["--extra-index-url", "file:///x/simple", "--extra-index-url", "file:///y/simple"]
    without_variable = {k: v for k, v in env.items() if k != "PIP_CERT"}  # else the environment's bundle wins
    cert = subprocess.run([*run, "--cert"], env=without_variable, capture_output=True, text=True, check=True)
    assert cert.stdout.strip() == "/etc/ssl/bundle.crt"
