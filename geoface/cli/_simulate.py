"""``geoface simulate``: write a synthetic landmark dataset with images."""

from __future__ import annotations

from pathlib import Path

from ._argtypes import non_negative_float, positive_int, random_seed


def add_parser(sub) -> None:
    p = sub.add_parser(
        "simulate",
        help="write a synthetic dataset (landmarks.csv, images/, ground_truth.json)",
        description="Simulate subjects showing the seven expressions as Action-Unit "
        "deformations, with head pose, detection noise and line-drawing images.",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument(
        "--subjects", type=positive_int, default=30, help="number of subjects (default 30)"
    )
    p.add_argument(
        "--takes", type=positive_int, default=4, help="images per subject and class (default 4)"
    )
    p.add_argument("--population", choices=("infant", "adult", "mixed"), default="infant")
    p.add_argument(
        "--noise",
        type=non_negative_float,
        default=0.015,
        help="landmark noise in inter-ocular distances (default 0.015)",
    )
    p.add_argument(
        "--image-size", type=positive_int, default=128, help="image side in pixels (default 128)"
    )
    p.add_argument("--no-images", action="store_true", help="write landmarks only")
    p.add_argument(
        "--action-units",
        action="store_true",
        help="vary each face's Action Units around its expression's prototype and add 0/1 "
        "presence columns AU1, AU2, … (targets for 'geoface fit --target AU12')",
    )
    p.add_argument("--seed", type=random_seed, default=0, help="random seed (default 0)")


def run(args) -> int:
    from ..simulate import write_simulated_dataset

    csv = write_simulated_dataset(
        args.out,
        render=not args.no_images,
        random_state=args.seed,
        progress=True,
        n_subjects=args.subjects,
        takes=args.takes,
        population=args.population,
        noise=args.noise,
        image_size=args.image_size,
        action_units=args.action_units,
    )
    with open(csv, encoding="utf-8") as fh:
        n = sum(1 for _ in fh) - 1
    print(f"simulated {n} faces of {args.subjects} {args.population} subjects → {csv}")
    return 0
