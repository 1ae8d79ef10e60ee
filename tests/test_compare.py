import json
from math import comb

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.cli import main
from geoface.compare import (
    cohen_kappa,
    compare_runs,
    correctness_counts,
    latex_escape,
    mcnemar_exact,
    paired_bootstrap,
)
from geoface.runs import run_names
from tests._synthetic_runs import CLASSES, design, write_run


def _noisy(y, rate, seed):
    rng = np.random.default_rng(seed)
    pred = y.copy()
    flip = rng.random(len(y)) < rate
    pred[flip] = (y[flip] + rng.integers(1, len(CLASSES), flip.sum())) % len(CLASSES)
    return pred


@pytest.fixture()
def two_runs(tmp_path):
    ids, subjects, folds, y = design()
    status = np.full(len(ids), "ok", dtype=object)
    status[3] = "qc_no_face"  # no prediction in run a only: left out of both
    a = write_run(
        tmp_path / "runs" / "xgb_a",
        ids=ids,
        subjects=subjects,
        folds=folds,
        y=y,
        pred=_noisy(y, 0.2, 1),
        status=status,
        model="xgb",
    )
    b = write_run(
        tmp_path / "runs" / "svm_b",
        ids=ids,
        subjects=subjects,
        folds=folds,
        y=y,
        pred=_noisy(y, 0.4, 2),
        model="svm",
    )
    return a, b


# ---------------------------------------------------------------- statistics
def test_mcnemar_exact_hand_computed():
    expected = 2 * sum(comb(12, i) for i in range(3)) / 2**12  # 2·P(X ≤ 2 | n=12, ½)
    assert expected == pytest.approx(0.03857421875)
    assert mcnemar_exact(10, 2) == pytest.approx(expected, rel=1e-12)
    assert mcnemar_exact(2, 10) == pytest.approx(expected, rel=1e-12)
    assert mcnemar_exact(0, 0) == 1.0  # all concordant
    assert mcnemar_exact(4, 4) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 2**5)


def test_correctness_counts():
    a = np.array([1, 1, 1, 0, 0, 1], bool)
    b = np.array([1, 0, 0, 1, 0, 1], bool)
    assert correctness_counts(a, b) == {
        "n": 6,
        "both_correct": 2,
        "a_only": 2,
        "b_only": 1,
        "neither": 1,
    }


def test_cohen_kappa_hand_computed_2x2():
    # both yes 8, A yes B no 2, A no B yes 3, both no 7: p_o = 0.75,
    # p_e = 0.5·0.55 + 0.5·0.45 = 0.5, κ = (0.75 − 0.5) / (1 − 0.5) = 0.5
    a = np.array([1] * 8 + [1] * 2 + [0] * 3 + [0] * 7)
    b = np.array([1] * 8 + [0] * 2 + [1] * 3 + [0] * 7)
    assert cohen_kappa(a, b, labels=[0, 1]) == pytest.approx(0.5)
    assert cohen_kappa(a, a, labels=[0, 1]) == pytest.approx(1.0)
    assert np.isnan(cohen_kappa([1, 1, 1], [1, 1, 1], labels=[0, 1]))  # undefined


def test_paired_bootstrap_identical_runs_is_exactly_zero():
    _, subjects, _, y = design()
    pred = _noisy(y, 0.3, 0)
    proba = np.eye(3)[pred] * 0.7 + 0.1
    out = paired_bootstrap(y, pred, pred, subjects, 3, proba_a=proba, proba_b=proba, n_boot=300)
    for name in ("accuracy", "balanced_accuracy", "macro_f1", "log_loss"):
        assert out[name]["diff"] == 0.0
        assert out[name]["low"] == 0.0 and out[name]["high"] == 0.0


def test_paired_bootstrap_always_right_vs_always_wrong():
    _, subjects, _, y = design()
    wrong = (y + 1) % 3
    out = paired_bootstrap(y, y, wrong, subjects, 3, n_boot=300)
    for name in ("accuracy", "balanced_accuracy"):
        assert out[name]["diff"] == 1.0
        assert out[name]["low"] == 1.0 and out[name]["high"] == 1.0
    assert "log_loss" not in out  # no probabilities given
    reverse = paired_bootstrap(y, wrong, y, subjects, 3, n_boot=300)
    assert reverse["accuracy"]["diff"] == -1.0


def test_paired_bootstrap_resamples_subjects_not_faces():
    _, subjects, _, y = design(n_subjects=6, per_subject=6)
    # A is right on the faces of subjects s00-s02 only, B on s03-s05 only
    first = np.isin(subjects, ["s00", "s01", "s02"])
    a = np.where(first, y, (y + 1) % 3)
    b = np.where(~first, y, (y + 1) % 3)
    out = paired_bootstrap(y, a, b, subjects, 3, n_boot=400, random_state=3)
    assert out["accuracy"]["diff"] == 0.0
    # each replicate's difference is (2·#first draws − 6) / 6: a multiple of 1/3
    assert out["accuracy"]["low"] <= -1 / 3 and out["accuracy"]["high"] >= 1 / 3
    assert (np.array([out["accuracy"]["low"], out["accuracy"]["high"]]) * 3) % 1 == pytest.approx(
        [0, 0]
    )


def test_run_names_disambiguate():
    assert run_names(["runs/xgb", "runs/svm"]) == ["xgb", "svm"]
    assert run_names(["a/xgb", "b/xgb", "c"]) == ["a/xgb", "b/xgb", "c"]
    assert run_names(["a/xgb", "a/xgb"]) == ["xgb", "xgb-2"]  # the same run twice
    assert run_names(["a/xgb", "a/xgb", "b/xgb"]) == ["a/xgb", "a/xgb-2", "b/xgb"]


def test_latex_escape():
    assert latex_escape("svm_rbf & 50% #1 {x} a\\b") == (
        r"svm\_rbf \& 50\% \#1 \{x\} a\textbackslash{}b"
    )
    assert latex_escape("Δ κ") == r"$\Delta$ $\kappa$"


# ---------------------------------------------------------------- comparison
def test_compare_runs_tables(two_runs):
    a, b = two_runs
    cmp = compare_runs([a, b], n_boot=300, seed=0)
    assert cmp.runs == ["xgb_a", "svm_b"]
    assert cmp.n_compared == 35 and cmp.n_excluded == 1
    assert cmp.excluded.to_dict(orient="records") == [
        {"run": "xgb_a", "status": "qc_no_face", "n": 1}
    ]
    assert "1 left out (xgb_a: qc_no_face 1)" in cmp.summary_line()
    # the same face is left out of both runs
    assert cmp.rows.loc[3, "included"] == False  # noqa: E712
    assert (
        cmp.rows.loc[3, "status_svm_b"] == "ok" and cmp.rows.loc[3, "status_xgb_a"] == "qc_no_face"
    )

    m = cmp.metrics.set_index("run")
    assert list(cmp.metrics.columns[:4]) == ["run", "model", "n", "accuracy"]
    assert m.loc["xgb_a", "model"] == "xgb" and m.loc["svm_b", "n"] == 35
    oof_a = pd.read_csv(a / "oof_predictions.csv").iloc[[i for i in range(36) if i != 3]]
    oof_b = pd.read_csv(b / "oof_predictions.csv").iloc[[i for i in range(36) if i != 3]]
    right_a = (oof_a["y_pred"] == oof_a["y_true"]).to_numpy()
    right_b = (oof_b["y_pred"] == oof_b["y_true"]).to_numpy()
    assert m.loc["xgb_a", "accuracy"] == pytest.approx(right_a.mean())
    for name in ("accuracy", "balanced_accuracy", "macro_f1", "log_loss"):
        for run in ("xgb_a", "svm_b"):
            assert m.loc[run, f"{name}_low"] <= m.loc[run, name] <= m.loc[run, f"{name}_high"]

    pair = cmp.pairs.iloc[0]
    assert (pair["run_a"], pair["run_b"]) == ("xgb_a", "svm_b")
    assert pair["a_only"] == (right_a & ~right_b).sum()
    assert pair["b_only"] == (~right_a & right_b).sum()
    assert pair["both_correct"] + pair["a_only"] + pair["b_only"] + pair["neither"] == 35
    assert pair["mcnemar_p"] == pytest.approx(mcnemar_exact(pair["a_only"], pair["b_only"]))
    assert pair["diff_accuracy"] == pytest.approx(right_a.mean() - right_b.mean())
    assert pair["diff_accuracy_low"] <= pair["diff_accuracy"] <= pair["diff_accuracy_high"]
    assert -1 <= pair["kappa"] <= 1

    assert cmp.per_class_f1.shape == (3, 2) and list(cmp.per_class_f1.index) == CLASSES
    assert cmp.confusion["xgb_a"].to_numpy().sum() == 35


def test_compare_agrees_with_the_runs_metrics_when_rows_match(tmp_path):
    ids, subjects, folds, y = design()
    a = write_run(
        tmp_path / "a",
        ids=ids,
        subjects=subjects,
        folds=folds,
        y=y,
        pred=_noisy(y, 0.3, 5),
        n_boot=300,
    )
    b = write_run(
        tmp_path / "b",
        ids=ids,
        subjects=subjects,
        folds=folds,
        y=y,
        pred=_noisy(y, 0.1, 6),
        n_boot=300,
    )
    cmp = compare_runs([a, b], n_boot=300, seed=0)
    own = json.loads((a / "metrics.json").read_text())
    row = cmp.metrics.iloc[0]
    assert row["n"] == row["n_run"] == own["n_used"]
    for name in ("accuracy", "balanced_accuracy", "macro_f1", "log_loss"):
        assert row[name] == pytest.approx(own[name])
        assert row[f"{name}_low"] == pytest.approx(own["ci95"][name]["low"])
        assert row[f"{name}_high"] == pytest.approx(own["ci95"][name]["high"])


def test_identical_runs_compare_to_zero(tmp_path):
    ids, subjects, folds, y = design()
    pred = _noisy(y, 0.3, 5)
    a = write_run(tmp_path / "one" / "m", ids=ids, subjects=subjects, folds=folds, y=y, pred=pred)
    b = write_run(tmp_path / "two" / "m", ids=ids, subjects=subjects, folds=folds, y=y, pred=pred)
    cmp = compare_runs([a, b], n_boot=200)
    assert cmp.runs == ["one/m", "two/m"]
    pair = cmp.pairs.iloc[0]
    assert pair["mcnemar_p"] == 1.0 and pair["kappa"] == pytest.approx(1.0)
    assert pair["a_only"] == pair["b_only"] == 0
    for name in ("accuracy", "balanced_accuracy", "macro_f1", "log_loss"):
        assert pair[f"diff_{name}"] == 0.0
        assert pair[f"diff_{name}_low"] == 0.0 == pair[f"diff_{name}_high"]


def test_three_runs_give_three_pairs(tmp_path):
    ids, subjects, folds, y = design()
    dirs = [
        write_run(tmp_path / n, ids=ids, subjects=subjects, folds=folds, y=y, pred=_noisy(y, r, s))
        for n, r, s in (("a", 0.1, 1), ("b", 0.3, 2), ("c", 0.5, 3))
    ]
    cmp = compare_runs(dirs, n_boot=200)
    assert list(zip(cmp.pairs["run_a"], cmp.pairs["run_b"], strict=True)) == [
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
    ]


# ---------------------------------------------------------------- refusals
def _variant(tmp_path, name, **changes):
    ids, subjects, folds, y = design()
    kw = {"ids": ids, "subjects": subjects, "folds": folds, "y": y, "pred": y.copy()}
    kw.update(changes)
    return write_run(tmp_path / name, **kw)


def test_refuses_different_ids(tmp_path):
    ids, *_ = design()
    a = _variant(tmp_path, "a")
    other = ids.copy()
    other[:2] = ["new_1", "new_2"]
    b = _variant(tmp_path, "b", ids=other)
    with pytest.raises(GeofaceError, match=r"differ in 4 ids \(2 only in .*a \(e\.g\. 'face_000'"):
        compare_runs([a, b], n_boot=100)


def test_refuses_different_folds(tmp_path):
    _, _, folds, _ = design()
    a = _variant(tmp_path, "a")
    b = _variant(tmp_path, "b", folds=(folds + 1) % 3)
    with pytest.raises(
        GeofaceError, match=r"put 36 face\(s\) in different folds, e\.g\. .*same splits file"
    ):
        compare_runs([a, b], n_boot=100)


def test_refuses_different_classes_and_targets(tmp_path):
    a = _variant(tmp_path, "a")
    b = _variant(tmp_path, "b", classes=["happy", "neutral", "angry"])
    with pytest.raises(GeofaceError, match=r"have different classes .* vs .*same classes"):
        compare_runs([a, b], n_boot=100)
    c = _variant(tmp_path, "c", target="age_group")
    with pytest.raises(GeofaceError, match=r"predict different targets \('label' vs 'age_group'\)"):
        compare_runs([a, c], n_boot=100)


def test_refuses_a_folder_that_is_not_a_run(tmp_path):
    a = _variant(tmp_path, "a")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GeofaceError, match="not a geoface run directory"):
        compare_runs([a, tmp_path / "empty"], n_boot=100)


def test_cli_refusal_is_one_line(tmp_path, capsys):
    _, _, folds, _ = design()
    a = _variant(tmp_path, "a")
    b = _variant(tmp_path, "b", folds=(folds + 1) % 3)
    code = main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("geoface: error: ") and err.count("\n") == 1
    assert "put 36 face(s) in different folds" in err
    assert not (tmp_path / "cmp").exists()
    code = main(["compare", str(a), "--out", str(tmp_path / "cmp")])
    assert code == 2 and "at least two run directories" in capsys.readouterr().err


# ---------------------------------------------------------------- outputs
def test_write_tables_in_three_formats_and_figures(two_runs, tmp_path, capsys):
    a, b = two_runs
    out = tmp_path / "cmp"
    code = main(["compare", str(a), str(b), "--out", str(out), "--bootstrap", "200"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "| xgb_a | xgb |" in printed and "McNemar p" in printed and "1 left out" in printed
    for name in ("metrics", "pairs", "per_class_f1"):
        for ext in ("csv", "md", "tex"):
            assert (out / f"{name}.{ext}").stat().st_size > 0
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics["run"]) == ["xgb_a", "svm_b"]
    pairs = pd.read_csv(out / "pairs.csv")
    assert {"mcnemar_p", "kappa", "diff_balanced_accuracy_low"} <= set(pairs.columns)
    tex = (out / "metrics.tex").read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"xgb\_a" in tex and "xgb_a" not in tex.replace(r"xgb\_a", "")
    assert tex.count(r"\\") == 3  # header and two runs
    md = (out / "metrics.md").read_text().splitlines()
    assert md[0].startswith("| run | model | n | accuracy") and len(md) == 4
    assert "## Pairs of runs" in (out / "comparison.md").read_text()
    assert (out / "comparison.tex").read_text().count(r"\begin{table}") == 5
    rows = pd.read_csv(out / "rows.csv")
    assert len(rows) == 36 and rows["included"].sum() == 35  # every id is listed
    info = json.loads((out / "comparison.json").read_text())
    assert info["n_excluded"] == 1 and info["bootstrap"]["n_boot"] == 200
    confusion = pd.read_csv(out / "confusion.csv")
    assert confusion.groupby("run")["count"].sum().to_dict() == {"svm_b": 35, "xgb_a": 35}
    for fig in ("confusion_matrices", "per_class_f1", "metrics", "differences"):
        assert (out / "figures" / f"{fig}.pdf").exists()
        assert (out / "figures" / f"{fig}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # an existing folder is refused, then replaced with --overwrite
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (
        main(["compare", str(a), str(b), "--out", str(out), "--overwrite", "--bootstrap", "100"])
        == 0
    )
    assert json.loads((out / "comparison.json").read_text())["bootstrap"]["n_boot"] == 100


def test_figures_and_markdown_api(two_runs):
    import matplotlib.pyplot as plt

    cmp = compare_runs(list(two_runs), n_boot=150)
    figs = cmp.figures()
    assert set(figs) == {"confusion_matrices", "per_class_f1", "metrics", "differences"}
    assert len([ax for ax in figs["confusion_matrices"].axes if ax.get_images()]) == 2
    for fig in figs.values():
        plt.close(fig)
    md = cmp.to_markdown()
    assert md.startswith("# Comparison of xgb_a, svm_b")
    assert "## Confusion matrix: xgb_a" in md
    assert r"\toprule" in cmp.to_latex()
