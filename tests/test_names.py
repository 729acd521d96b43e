"""Names cannot escape the store or a job script: a study's, a condition's and a task's names follow one
rule (store/names.py), checked when the study is read and when a run starts; SLURM values hold no line
break; the report shows names as text."""

import pytest

from pretrain_robustness import store
from pretrain_robustness.cli import main
from pretrain_robustness.study.resources import Resources
from pretrain_robustness.study.spec import Condition, StudySpec, check_spec

from .test_bad_inputs import finetune
from .test_run_tables import _write_local_run

HOSTILE = ["../../../escaped", "pre/", "./scratch", "a\ntouch PWNED", "$(touch PWNED)", "it's", "x" * 65,
           '<a href="https://example.com">c</a>', "", "a b"]


def _spec(study="s", condition="scratch", **change):
    return StudySpec(study=study, architectures=["resnet18"], finetune=[], conditions=[Condition(condition)],
                     **change)


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_condition_or_study_name_is_refused_when_the_study_is_read(name):
    with pytest.raises(ValueError, match="is not a usable name: use 1 to 64 letters"):
        check_spec(_spec(condition=name))
    with pytest.raises(ValueError, match=r"study .* is not a usable name"):
        check_spec(_spec(study=name))
    with pytest.raises(ValueError, match=r"task .* is not a usable name"):
        check_spec(_spec(tasks={name: []}))


def test_good_names_and_seeds(tmp_path):
    check_spec(_spec(study="fig04-quantity_imagenet.v2", condition="imagenet-5k+R", baseline="imagenet-5k+R"))
    for seeds in ([-1], [1.5], [2 ** 32]):
        with pytest.raises(ValueError, match="seeds must be integers from 0"):
            check_spec(_spec(seeds=seeds))


def test_a_run_with_a_name_that_leaves_the_store_is_refused_before_anything(tiny_data, tmp_path):
    with pytest.raises(ValueError, match=r"condition '\.\./\.\./outside' is not a usable name"):
        main(finetune(tiny_data, tmp_path / "runs", "--run.condition", "../../outside"))
    assert not (tmp_path / "outside").exists() and not (tmp_path / "runs").exists()


def test_a_slurm_value_with_a_line_break_is_refused():
    with pytest.raises(ValueError, match="may not hold spaces or control characters.*partition="):
        Resources(partition="gpu\n#SBATCH --wrap=touch PWNED", gpus_per_node=1).check("job")
    with pytest.raises(ValueError, match="extra.constraint"):
        Resources(gpus_per_node=1, extra={"constraint": "a100\nsrun touch PWNED"}).check("job")
    Resources(gpus_per_node=1, extra={"constraint": "a100|h100"}).check("job")


def test_the_report_shows_a_condition_as_text(tmp_path, capsys):
    for condition in ("scratch", "linked"):
        for architecture in ("resnet18", "resnet50", "densenet121"):
            run, record, _ = _write_local_run(tmp_path, condition, architecture, "finished")
            if condition == "linked":  # a record written by hand: the store's own runs cannot hold this name
                store.write_record(run, {**record, "condition": '<a href="https://example.com">c</a>'})
    main(["report", "--root", str(tmp_path), "--study", "study"])
    page = (tmp_path / "study" / "report.html").read_text()
    # the legend's entry escaped: plotly draws it as text, not as a link (its JSON writes "<" as \u003c)
    assert '"name":"&lt;a href=' in page and '"name":"\\u003ca href' not in page
