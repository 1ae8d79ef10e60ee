"""Explanations checked against the simulator's ground truth.

The simulator knows which regions each expression moves
(:func:`geoface.simulate.moved_regions`). An XGBoost model is fitted on
subject-grouped folds and explained out of fold; a region's importance for a
class is its **total** mean |SHAP| over all faces (the sum of its features'
values, then the absolute value, averaged): the total is what SHAP's
additivity assigns to the region as a whole and does not depend on how many
features describe it, whereas the per-feature mean would favour regions
described by few features (the glabella has 14, the mouth 200). Checks:

1. the top region of every class that moves something is one it moves;
2. regions that no class moves rank below every region a class moves, in
   every class (none on the default mesh: the check is kept for others);
3. on the default mesh every region is moved by some class, but the nose only
   by disgust: a region that only one class moves tells the model nothing
   about the others, so every other class ranks it below the median region
   (rank 5, 6 or 7 of 7).

A model need not use every region a class moves (correlated regions carry the
same evidence: anger moves the eyes, but brows, glabella and mouth already
tell it apart), so no check asks for that.
"""

from __future__ import annotations

import pytest

from geoface.explain import explain_run, ground_truth_check, region_table
from geoface.features import extract_table
from geoface.models import fit_run
from geoface.simulate import EXPRESSIONS, moved_regions, simulate_landmarks


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    sim = simulate_landmarks(n_subjects=30, takes=2, random_state=11)
    table = extract_table(sim.landmarks, sim.meta)
    run = fit_run(table, tmp_path_factory.mktemp("gt") / "xgb", model="xgb", folds=5, n_boot=200)
    expl = explain_run(run, table)
    assert expl.info["mode"] == "out-of-fold" and expl.n_faces == len(table.frame)
    return region_table(expl, n_boot=200)


def test_top_region_of_every_class_is_one_it_moves(regions):
    moved = {c: moved_regions(c) for c in EXPRESSIONS}
    check = ground_truth_check(regions, moved)
    assert sorted(check["class"]) == sorted(c for c in EXPRESSIONS if moved[c])
    wrong = check[~check["top_is_moved"]]
    assert wrong.empty, wrong.to_string()


def test_regions_no_class_moves_rank_below_moved_ones(regions):
    moved_by_any = set().union(*(moved_regions(c) for c in EXPRESSIONS))
    unmoved = set(regions["region"]) - moved_by_any
    for cls, part in regions.groupby("class"):
        moved = moved_regions(cls)
        if not moved or not unmoved:
            continue
        top_unmoved = part[part["region"].isin(unmoved)]["mean_abs_total"].max()
        low_moved = part[part["region"].isin(moved)]["mean_abs_total"].min()
        assert top_unmoved < low_moved, cls


def test_region_only_one_class_moves_ranks_low_for_the_others(regions):
    movers: dict[str, set] = {}
    for c in EXPRESSIONS:
        for r in moved_regions(c):
            movers.setdefault(r, set()).add(c)
    single = {r: next(iter(cs)) for r, cs in movers.items() if len(cs) == 1}
    assert single == {"nose": "disgust"}  # the default mesh; the loop below is general
    n_regions = regions["region"].nunique()
    for region, mover in single.items():
        others = regions[(regions["region"] == region) & (regions["class"] != mover)]
        low = others[others["rank"] <= (n_regions + 1) / 2]
        assert low.empty, f"{region} ranks in the top half for {low['class'].tolist()}"
