"""``geoface mesh``: draw (and optionally save) the triangulation."""

from __future__ import annotations

import json
from pathlib import Path

from .._atomic import atomic_path
from .._errors import GeofaceError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "mesh",
        help="draw the mesh with numbered triangles and regions (PDF + PNG)",
        description="Draw the frozen Delaunay mesh on its template, triangles numbered and "
        "filled by facial region. With --fit, build the mesh on your own faces first.",
    )
    p.add_argument(
        "--out", required=True, type=Path, help="figure path (.pdf; a .png is written beside)"
    )
    p.add_argument(
        "--fit",
        type=Path,
        metavar="LANDMARKS",
        help="build the mesh on the Procrustes mean of these landmarks",
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="MESH_JSON",
        help="also save the mesh description (template, triangles, regions, hash)",
    )
    p.add_argument("--points", action="store_true", help="number the landmarks too")


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..mesh import Mesh
    from ..plotting import plot_mesh, save_figure

    if args.fit is not None:
        from ..landmarks import read_landmark_input

        landmarks, _ = read_landmark_input(args.fit)
        mesh = Mesh.fit(landmarks)
    else:
        mesh = Mesh.default()
    if args.out.suffix.lower() not in {".pdf", ".png", ".svg", ""}:
        raise GeofaceError(f"--out {args.out} should end in .pdf, .svg or .png")
    fig = plot_mesh(mesh, number_points=args.points)
    written = save_figure(fig, args.out, formats=("pdf", "png"))
    plt.close(fig)
    if args.json is not None:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(mesh.to_dict(), indent=1) + "\n", encoding="utf-8")
        written.append(args.json)
    print(
        f"mesh {mesh.hash}: {mesh.n_triangles} triangles, {mesh.n_edges} edges, "
        f"mirror-symmetric: {mesh.is_symmetric} → {', '.join(map(str, written))}"
    )
    return 0
