"""Rebuild geoface's built-in template from HELEN 300-W annotations.

Usage::

    python scripts/make_template.py ../shared/data/helen geoface/data/template.json

Reads every ``*.pts`` in the folder, runs :func:`geoface.mesh.build_template`
(generalised Procrustes analysis of the faces and their mirror images, eye
line horizontal, inter-ocular distance 1, exact left–right symmetrisation,
rounded to 1e-6) and writes only the resulting 68×2 numbers with a note of
their provenance. The annotations themselves are not redistributed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

from geoface._atomic import atomic_path
from geoface.landmarks import read_pts
from geoface.mesh import build_template


def main(src: str, dst: str) -> None:
    files = sorted(Path(src).glob("*.pts"))
    shapes = np.stack([read_pts(f) for f in files])
    template = build_template(shapes)
    doc = {
        "name": "geoface-helen50-symmetric",
        "convention": "iBUG 300-W 68 points, 0-based; x right, y down",
        "units": "inter-ocular distance (eye centres); origin midway between the eye centres",
        "provenance": (
            f"Symmetrised generalised-Procrustes mean of {len(files)} HELEN test-set faces "
            "with 300-W re-annotations (Sagonas et al. 2013) and their mirror images; "
            "eye line horizontal, IOD = 1, each point averaged with its mirrored partner, "
            "rounded to 1e-6. Built by scripts/make_template.py; only these numbers are shipped."
        ),
        "n_faces": len(files),
        "points": template.tolist(),
    }
    with atomic_path(dst) as tmp:
        text = json.dumps(doc, indent=1)
        # one point per line keeps the file short and diffs readable
        text = re.sub(r"\[\s+(-?[\d.e-]+),\s+(-?[\d.e-]+)\s+\]", r"[\1, \2]", text)
        tmp.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {dst} from {len(files)} faces")


if __name__ == "__main__":
    main(*sys.argv[1:3])
