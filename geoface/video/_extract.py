"""The whole video extraction as one library call: videos → frame table.

:func:`extract_videos` is what ``geoface extract`` runs when its input is, lists
or holds videos: probe each video, choose its frames (:class:`Sampling`), cut
them into segments and compute each segment's part file (resumable; the unit of
cluster work), then merge the parts into one frame table written in row groups,
with the landmark table beside it and the sidecar last. Images found beside the
videos (a folder or manifest mixing both) become rows of the same table.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import GeofaceError

__all__ = ["VideoExtraction", "default_landmarks_out", "extract_videos"]

_SMOOTH_METHODS = ("none", "one-euro", "savgol")


@dataclass
class VideoExtraction:
    """What :func:`extract_videos` made.

    Attributes
    ----------
    path : Path
        The frame table (Parquet or CSV).
    landmarks_path : Path
        The landmark table beside it (``OUT_STEM.landmarks.parquet`` or ``.csv``).
    n_videos, n_images, n_rows : int
    qc_counts : dict
        Rows per ``qc_status``.
    header : str
        The line printed before the work starts.
    lines : list of str
        Lines printed after the summary (speed, segments, overlays).
    info : dict
        The sidecar's ``video`` record.
    """

    path: Path
    landmarks_path: Path
    n_videos: int
    n_images: int
    n_rows: int
    qc_counts: dict[str, int]
    header: str
    lines: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def read(self):
        """The frame table as a :class:`~geoface.features.FeatureTable` (loads every row)."""
        from ..features import FeatureTable

        return FeatureTable.read(self.path)


def default_landmarks_out(out: Path) -> Path:
    """``OUT_STEM.landmarks.parquet`` (``.csv`` for a CSV table) beside the frame table."""
    suffix = ".csv" if out.suffix.lower() == ".csv" else ".parquet"
    return out.with_name(out.with_suffix("").name + ".landmarks" + suffix)


def _pool(processes: int):
    """A process pool for segments (forked workers where the platform allows)."""
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork") if sys.platform == "linux" else None
    return ProcessPoolExecutor(processes, mp_context=context)


def _serial(tasks: list, progress: bool, processes: int = 1, together: int = 1) -> Iterable[Path]:
    """Run the segments, in this process or in ``processes`` worker processes, in order.

    ``together > 1`` (a batched landmark model): that many segments advance in
    lockstep in this process, their landmarker calls batched.
    """
    from collections import deque

    from ._segments import run_segment, run_segments_together

    bar = None
    if progress and tasks:
        try:
            from tqdm.auto import tqdm

            total = sum(len(t.ordinals) for t in tasks)
            bar = tqdm(total=total, unit="frame", desc="video", leave=False)
        except ImportError:  # pragma: no cover - tqdm is a dependency
            bar = None
    pool = _pool(processes) if processes > 1 and len(tasks) > 1 and together <= 1 else None
    try:
        if together > 1:
            for k in range(0, len(tasks), together):
                group = tasks[k : k + together]
                yield from run_segments_together(group)
                if bar is not None:
                    bar.update(sum(len(t.ordinals) for t in group))
            return
        if pool is None:
            for task in tasks:
                yield run_segment(task)
                if bar is not None:
                    bar.update(len(task.ordinals))
            return
        # a few tasks queued at a time: each carries its video's frame index
        queued: deque = deque()
        for task in tasks:
            queued.append((task, pool.submit(run_segment, task)))
            while len(queued) >= 2 * processes:
                done, future = queued.popleft()
                yield future.result()
                if bar is not None:
                    bar.update(len(done.ordinals))
        while queued:
            done, future = queued.popleft()
            yield future.result()
            if bar is not None:
                bar.update(len(done.ordinals))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()


def extract_videos(
    input: str | os.PathLike,
    out: str | os.PathLike,
    *,
    mesh="default",
    reference: str = "template",
    iod: str = "centres",
    neutral_label: str = "neutral",
    landmarker: str | None = None,
    detector: str = "auto",
    faces: str = "largest",
    device: str = "auto",
    weights_dir: str | os.PathLike | None = None,
    batch_size: int | None = None,
    landmarks_out: str | os.PathLike | None = None,
    overlay_video: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
    use_cache: bool = True,
    max_side: int | None = None,
    detect_side: int | None = None,
    min_size: int = 32,
    max_pixels: int | None = None,
    mirror_average: bool | None = None,
    upsample: int | None = None,
    relative: str = "none",
    relative_by: str = "subject",
    relative_mark: str | None = None,
    fps: float | None = None,
    every: int | None = None,
    start: float | None = None,
    end: float | None = None,
    redetect_every: int | None = None,
    smooth: str = "none",
    smooth_params: dict | None = None,
    segment_frames: int = 256,
    workers: int | None = None,
    processes: int = 1,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
    run_tasks: Callable[[list], Iterable[Path]] | None = None,
) -> VideoExtraction:
    """Detect and track faces in videos and write their frame table (``geoface extract`` on video).

    Parameters
    ----------
    input : path-like
        A video file, a folder (searched recursively; images beside the videos
        give image rows in the same table) or a manifest CSV whose ``path``
        column names videos (its other columns are carried to every frame).
    out : path-like
        The frame table: ``.parquet`` (recommended for video: written in row
        groups) or ``.csv``.
    mesh, reference, iod, neutral_label
        As for :func:`geoface.features.extract_table`; the mesh is fixed for
        the whole table (``"default"`` or a mesh JSON; ``"fit"`` would need
        every frame in memory and is refused), and ``reference`` must be
        ``"template"``.
    landmarker, detector, device, weights_dir, batch_size, detect_side, mirror_average, upsample
        As for :func:`geoface.landmarks.make_landmarker` (``None``: auto, fan
        when its weights are here, else dlib).
    faces : {"largest", "all"}
        Keep one track, the subject, or every track.
    landmarks_out : path-like, optional
        The landmark table (default ``OUT_STEM.landmarks.parquet``).
    overlay_video : path-like, optional
        An MP4 with the box, landmarks, mesh and track id drawn on every
        sampled frame (one file per video when there are several).
    cache, use_cache
        Folder of the part files (default ``geoface-cache/`` beside ``out``);
        ``use_cache=False`` uses a temporary folder, removed at the end.
    max_side : int, optional
        Frames are downscaled to this longer side for landmarking (coordinates
        are always in the video's displayed pixels).
    min_size, max_pixels
        Image rows: as for :func:`geoface.landmarks.detect_landmarks`; a video
        whose frames have more pixels than ``max_pixels`` is ``too_large``.
    relative, relative_by, relative_mark
        Frame rows are absolute by default (``"none"``; ``"auto"`` is none for
        video). ``"mean"``: each row minus the mean of the other usable rows
        of its ``relative_by`` group (``subject``, ``video``, …); ``"marked"``:
        minus the mean of the rows ``relative_mark`` marks. Computed in a
        second pass over the written table, chunk by chunk (memory flat);
        rows whose group offers no reference use the template's features and
        get ``qc_relative_fallback``.
    fps, every, start, end
        The frames kept (:class:`Sampling`): all by default.
    redetect_every : int, optional
        The tracker re-detects faces every this many frames (its default when None).
    smooth, smooth_params
        ``"none"`` (default), ``"one-euro"`` or ``"savgol"`` and its parameters
        (:func:`smooth_landmarks`).
    segment_frames : int, default=256
        Kept frames per segment (unit of work and of resume).
    workers : int, optional
        Threads of the detector (and of the image pipeline for images).
    processes : int, default=1
        Worker processes computing segments (each makes its landmarker once);
        the table is the same whatever the number.
    progress : bool, default=True
    say : callable, optional
        Receives the header line.
    run_tasks : callable, optional
        ``run_tasks(tasks) -> iterable of part paths``: runs the segments not
        yet done (default: one after the other in this process). A cluster
        backend passes its own; when it has a ``sidecar_record()`` method, what
        that returns (where it ran, per-worker timings and counts) is written
        to the sidecar under ``video`` → ``cluster``.

    Returns
    -------
    VideoExtraction
    """
    import numpy as np
    import pandas as pd

    from ..extraction import resolve_mesh
    from ..features import extract_table
    from ..landmarks import DEFAULT_MAX_PIXELS, IMAGE_QC_COLUMNS, ImageSources, detect_landmarks
    from ..mesh import Mesh
    from ._merge import (
        VIDEO_QC_COLUMNS,
        TableWriter,
        arrow_type,
        failed_video_chunk,
        video_chunks,
    )
    from ._probe import VideoReadError, decoder_versions, probe_video
    from ._sampling import Sampling
    from ._segments import (
        config_hash,
        landmarker_spec,
        make_tracker,
        part_folder,
        plan_segments,
        read_part_meta,
        resolve_landmarker,
    )
    from ._sources import find_media

    t0 = time.perf_counter()
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise GeofaceError(
            f"frame table {out} has extension {out.suffix or '(none)'!r}; "
            "use .parquet (recommended for video) or .csv"
        )
    if smooth not in _SMOOTH_METHODS:
        raise GeofaceError(f"smooth={smooth!r} is not one of {set(_SMOOTH_METHODS)}")
    from ._smooth import smooth_landmarks

    # the filter and its parameters are checked before any work starts
    _, smooth_applied = smooth_landmarks(
        np.zeros((0, 68, 2)), np.zeros(0), smooth, **dict(smooth_params or {})
    )
    if faces not in ("largest", "all"):
        raise GeofaceError(f"faces={faces!r} is not one of {{'largest', 'all'}}")
    if reference != "template":
        raise GeofaceError(
            f"reference={reference!r}: frame tables are written in row groups, so each "
            "subject's neutral face is not at hand; use --reference template"
        )
    rule = "none" if relative == "auto" else relative
    rel_note: dict[str, Any] = {"asked": relative, "rule": rule, "by": relative_by}
    if relative == "auto":
        rel_note["why"] = "frame tables are absolute unless --relative mean or marked is asked"
    elif relative not in ("none", "mean", "marked"):
        raise GeofaceError(
            f"relative={relative!r} is not one of {{'none', 'auto', 'mean', 'marked'}} for "
            "video ('first' would need the table in order before it is written); use mean "
            "(each person's mean face) or marked (--relative-mark COLUMN)"
        )
    mesh_spec = mesh
    mesh = resolve_mesh(mesh)
    if isinstance(mesh, str):
        if mesh == "fit":
            raise GeofaceError(
                "--mesh fit rebuilds the mesh on every face at once, which a video table "
                "written in row groups never holds; use --mesh default or a mesh JSON"
            )
        mesh = Mesh.default()
    sampling = Sampling(fps=fps, every=every, start=start, end=end)
    max_pixels = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)
    sources = find_media(input)
    out.parent.mkdir(parents=True, exist_ok=True)

    # the landmarker: resolved once here, so every process uses the same backend
    options = landmarker_spec(
        detector=detector,
        device=device,
        weights_dir=weights_dir,
        batch_size=batch_size,
        detect_side=detect_side,
        n_jobs=workers,
        mirror_average=mirror_average,
        upsample=upsample,
    )
    backend, spec = resolve_landmarker({"name": landmarker or "auto", **options})
    tracker_settings: dict[str, Any] = {"faces": faces}
    if redetect_every is not None:
        tracker_settings["redetect_every"] = int(redetect_every)
    tracker_fp = make_tracker(backend, tracker_settings).fingerprint()
    batch = max(1, int(getattr(backend, "batch_size", 1) or 1), 8 if backend.name == "dlib" else 1)

    n_videos = sources.n_videos
    n_img = len(sources) - n_videos
    header = (
        f"{n_videos} video{'s' * (n_videos != 1)}"
        + (f" and {n_img} image{'s' * (n_img != 1)}" if n_img else "")
        + f" from {input}; landmarker {backend.choice or backend.name}; sampling "
        + sampling.describe()
    )
    if say is not None:
        say(header)

    temp_cache = None
    if use_cache:
        cache_dir = Path(cache) if cache is not None else out.parent / "geoface-cache"
    else:
        import tempfile

        temp_cache = tempfile.TemporaryDirectory(prefix=".geoface-parts-", dir=out.parent)
        cache_dir = Path(temp_cache.name)

    # 1. probe and plan
    t_probe = time.perf_counter()
    plans: dict[int, dict[str, Any]] = {}
    for i, (file, is_video) in enumerate(zip(sources.files, sources.is_video, strict=True)):
        if not is_video:
            continue
        plan: dict[str, Any] = {"id": str(sources.meta["id"].iloc[i]), "status": None}
        plans[i] = plan
        if file is None:
            plan.update(status="unreadable_video", note="the manifest row names no file")
            continue
        try:
            info = probe_video(file, max_pixels=max_pixels)
        except VideoReadError as exc:
            plan.update(status=exc.status, note=str(exc))
            continue
        plan["info"] = info
        if info.width * info.height > max_pixels:
            plan.update(
                status="too_large",
                note=f"{info.width}×{info.height} frames exceed --max-pixels {max_pixels:_}",
            )
            continue
        ordinals = sampling.select(info.times)
        plan["n_sampled"] = len(ordinals)
        if len(ordinals) == 0:
            plan.update(
                status="empty_video", note=f"no frame in the sampled range ({sampling.describe()})"
            )
            continue
        # frames within max_side are landmarked as they are: such runs share their parts
        side = max_side if max_side and max(info.width, info.height) > max_side else None
        chash = config_hash(
            backend.fingerprint(), tracker_fp, sampling.to_dict(), side, segment_frames
        )
        folder = part_folder(cache_dir, info.sha1, chash)
        plan["folder"] = folder
        plan["tasks"] = plan_segments(
            info,
            ordinals,
            folder,
            segment_frames=segment_frames,
            landmarker=spec,
            tracker=tracker_settings,
            max_side=side,
            batch=batch,
        )
    probe_s = time.perf_counter() - t_probe

    # 2. the segments not yet done
    t_seg = time.perf_counter()
    tasks = [t for p in plans.values() for t in p.get("tasks", [])]
    todo = [t for t in tasks if not t.done]
    reused = len(tasks) - len(todo)
    todo_parts = {t.part for t in todo}
    if run_tasks is not None:
        runner = run_tasks
    else:
        # a batched model (FAN) runs segments in lockstep, one batch per frame step
        together = (
            max(1, int(getattr(backend, "batch_size", 1) or 1)) if backend.name == "fan" else 1
        )
        runner = lambda ts: _serial(ts, progress, max(1, int(processes)), together)  # noqa: E731
    for _ in runner(todo):
        pass
    # --- a cluster runner's own record (where, per-worker timings and counts) for the sidecar
    sidecar_record = getattr(runner, "sidecar_record", None)
    cluster_record = sidecar_record() if callable(sidecar_record) else None
    missing = [t.part for t in tasks if not t.done]
    if missing:
        raise GeofaceError(
            f"{len(missing)} segment(s) were not computed (e.g. {missing[0]}); run again to resume"
        )
    segments_s = time.perf_counter() - t_seg

    # 3. merge into one table
    t_merge = time.perf_counter()
    landmarks_out = Path(landmarks_out) if landmarks_out else default_landmarks_out(out)
    meta_cols = list(sources.meta.columns)
    has_images = n_videos < len(sources)
    base_cols = [c for c in meta_cols if c != "id"]
    meta_template = ["id", *base_cols, "video", "frame", "time_s", "track_id"]
    if has_images:
        meta_template.append("face_index")
    qc_template = list(VIDEO_QC_COLUMNS)
    if has_images:
        qc_template += [c for c in IMAGE_QC_COLUMNS if c not in qc_template]
    nan68 = np.full((1, 68, 2), np.nan)
    dummy = extract_table(
        nan68,
        pd.DataFrame({c: [None] for c in meta_template}).assign(id="x"),
        qc=pd.DataFrame({c: [None] for c in qc_template}).assign(qc_status="no_face"),
        mesh=mesh,
        iod=iod,
        neutral_label=neutral_label,
        landmarker=backend.name,
        source=str(input),
    )
    columns = list(dummy.frame.columns)
    xy = [f"x_{k}" for k in range(68)] + [f"y_{k}" for k in range(68)]
    lm_columns = meta_template + qc_template + xy
    relref = None
    if rule != "none":
        from ..features import MeshFeatures
        from ._merge import RelativeReference

        for col, flag in ((relative_by, "--relative-by"), (relative_mark, "--relative-mark")):
            if (col is not None or rule == "marked") and col not in meta_template:
                raise GeofaceError(
                    f"{flag} {col!r} is not a column of the frame table; choose one of "
                    f"{meta_template}"
                )
        template = np.asarray(mesh.template, dtype=float)[None]
        fallback = MeshFeatures(mesh=mesh, iod=iod).fit(template).transform(template)[0]
        names = list(dummy.info["feature_names"])
        relref = RelativeReference(rule, relative_by, relative_mark, names, fallback)
    types = {}
    manifest_dtypes = dict(sources.meta.dtypes.items())
    for c in set(columns) | set(lm_columns):
        types[c] = arrow_type(c, manifest_dtypes.get(c) if c in base_cols else None)
    writer = TableWriter(out, landmarks_out, columns, lm_columns, types)

    def landmark_rows(landmarks, meta, qc) -> pd.DataFrame:
        flat = landmarks.reshape(len(landmarks), -1, 2)
        coords = pd.DataFrame(np.concatenate([flat[:, :, 0], flat[:, :, 1]], axis=1), columns=xy)
        return pd.concat([meta.reset_index(drop=True), qc.reset_index(drop=True), coords], axis=1)

    def write_chunk(landmarks, meta, qc) -> None:
        table = extract_table(
            landmarks,
            meta,
            qc=qc,
            mesh=mesh,
            iod=iod,
            neutral_label=neutral_label,
            landmarker=backend.name,
            source=str(input),
        )
        writer.write(table.frame, landmark_rows(landmarks, meta, qc))
        if relref is not None:
            relref.add(table.frame)

    overlay = None
    overlays_written: list[str] = []
    image_info: dict[str, Any] = {}
    per_video: list[dict[str, Any]] = []
    timings = {"decode_s": 0.0, "landmarks_s": 0.0, "segments_cpu_s": 0.0}
    n_images = 0
    try:
        i = 0
        while i < len(sources):
            if not sources.is_video[i]:  # a run of images: the image pipeline
                j = i
                while j < len(sources) and not sources.is_video[j]:
                    j += 1
                sub = ImageSources(
                    meta=sources.meta.iloc[i:j].reset_index(drop=True),
                    files=sources.files[i:j],
                    root=sources.root,
                    kind=sources.kind,
                )
                found = detect_landmarks(
                    sub,
                    backend,
                    faces=faces,
                    cache_dir=cache_dir if use_cache else None,
                    max_side=max_side or 2048,
                    min_size=min_size,
                    max_pixels=max_pixels,
                    workers=workers,
                    progress=progress,
                )
                n_images += j - i
                image_info = {k: v for k, v in found.info.items() if k != "landmarker"}
                qc_img = found.qc.assign(qc_how="detected")
                write_chunk(found.landmarks, found.meta, qc_img)
                i = j
                continue
            plan = plans[i]
            row = sources.meta.iloc[i]
            base = {c: row[c] for c in base_cols}
            record: dict[str, Any] = {"id": plan["id"], "path": str(row.get("path", ""))}
            if "info" in plan:
                record.update(plan["info"].to_dict())
            record["n_sampled"] = plan.get("n_sampled", 0)
            counts: dict[str, int] = {}
            if plan["status"] is not None:
                chunk = failed_video_chunk(plan["id"], base, plan["status"], plan["note"])
                write_chunk(chunk.landmarks, chunk.meta, chunk.qc)
                counts[plan["status"]] = 1
                record["status"] = plan["status"]
                record["note"] = plan["note"]
            else:
                vtasks = plan["tasks"]
                parts = [t.part for t in vtasks]
                stats: dict[str, Any] = {}
                if overlay_video is not None:
                    from ._overlay import OverlayWriter, overlay_path

                    target = overlay_path(Path(overlay_video), plan["id"], n_videos)
                    overlay = OverlayWriter(target, plan["info"], mesh=mesh, faces=faces)
                for chunk in video_chunks(
                    parts,
                    video_id=plan["id"],
                    base=base,
                    faces=faces,
                    smooth=smooth,
                    smooth_params=smooth_params,
                    stats=stats,
                ):
                    write_chunk(chunk.landmarks, chunk.meta, chunk.qc)
                    for k, v in chunk.qc["qc_status"].value_counts().items():
                        counts[str(k)] = counts.get(str(k), 0) + int(v)
                    if overlay is not None:
                        overlay.add(chunk)
                if overlay is not None:
                    overlays_written.append(str(overlay.close()))
                    overlay = None
                seg_t = {"decode_s": 0.0, "landmarks_s": 0.0, "total_s": 0.0, "cpu_s": 0.0}
                for part in parts:
                    pm = read_part_meta(part).get("timings", {})
                    for k in seg_t:
                        seg_t[k] += float(pm.get(k, 0.0))
                computed = sum(1 for t in vtasks if t.part in todo_parts)
                timings["decode_s"] += seg_t["decode_s"]
                timings["landmarks_s"] += seg_t["landmarks_s"]
                timings["segments_cpu_s"] += seg_t["cpu_s"]
                record["segments"] = {
                    "n": len(vtasks),
                    "computed": computed,
                    "reused": len(vtasks) - computed,
                    "folder": str(plan["folder"]),
                    "timings_s": {k: round(v, 3) for k, v in seg_t.items()},
                }
                record["tracks"] = stats
            record["qc_counts"] = dict(sorted(counts.items()))
            per_video.append(record)
            i += 1
        merge_s = time.perf_counter() - t_merge
        total_s = time.perf_counter() - t0
        n_frames = sum(int(p.get("n_sampled", 0)) for p in plans.values() if p["status"] is None)
        video_record = {
            "decoder": {"library": "PyAV", **decoder_versions()},
            "sampling": {**sampling.to_dict(), "describe": sampling.describe()},
            "tracker": tracker_fp,
            "smoothing": {
                "method": smooth,
                "params": dict(smooth_params or {}),
                "applied": smooth_applied,
                "on": "landmarks of each track, before features; raw ones stay in the parts",
            },
            "segment_frames": int(segment_frames),
            "max_side": max_side,
            "landmarker": {
                "name": backend.name,
                "choice": backend.choice,
                "fingerprint": backend.fingerprint(),
                "versions": backend.versions(),
            },
            "n_videos": n_videos,
            "n_images": n_images,
            "n_frames_sampled": n_frames,
            "qc_counts": dict(sorted(writer.qc_counts.items())),
            "segments": {"n": len(tasks), "computed": len(todo), "reused": reused},
            "cache": None if temp_cache is not None else str(cache_dir),
            "overlay_video": overlays_written,
            "videos": per_video,
            "timings": {
                "probe_s": round(probe_s, 3),
                "segments_s": round(segments_s, 3),
                "decode_s": round(timings["decode_s"], 3),
                "landmarks_s": round(timings["landmarks_s"], 3),
                "segments_cpu_s": round(timings["segments_cpu_s"], 3),
                "merge_s": round(merge_s, 3),
                "total_s": round(total_s, 3),
                "frames_per_s": round(n_frames / total_s, 2) if total_s > 0 else None,
            },
        }
        if cluster_record is not None:  # --- the cluster runner's record, segments reused added
            video_record["cluster"] = {**cluster_record, "segments_reused": reused}
        if relref is not None:  # the second pass: each person's reference is now known
            first = next(c for c in columns if c in set(relref.names))
            at = columns.index(first)
            with_flag = [*columns[:at], "qc_relative_fallback", *columns[at:]]
            types["qc_relative_fallback"] = arrow_type("qc_relative_fallback")
            writer.types = types
            writer.rewrite(relref.apply, with_flag)
            rel_note.update(mark=relative_mark, n_fallback=relref.n_fallback)
            rel_note["groups"] = len(relref.counts)
        info = dict(dummy.info)
        info["options"] = dict(info["options"])
        info["options"]["mesh"] = mesh_spec if isinstance(mesh_spec, str) else "custom"
        info["options"]["relative"] = rel_note
        info["units"] = {**info.get("units", {}), "time_s": "seconds from the stream's first frame"}
        info["video"] = video_record
        if image_info:
            info["detection"] = image_info
        writer.finish(info, mesh)
    except BaseException:
        writer.abort()
        if overlay is not None:
            overlay.abort()
        raise
    finally:
        if temp_cache is not None:
            temp_cache.cleanup()
    fps_all = n_frames / max(total_s, 1e-9)
    lines = [
        f"  landmarks → {landmarks_out}; {backend.describe()}; {n_frames} frames at "
        f"{fps_all:.1f} frames/s; segments: {len(todo)} computed, {reused} reused"
    ]
    for path in overlays_written:
        lines.append(f"  overlay video → {path}")
    return VideoExtraction(
        path=out,
        landmarks_path=landmarks_out,
        n_videos=n_videos,
        n_images=n_images,
        n_rows=writer.n_rows,
        qc_counts=dict(sorted(writer.qc_counts.items())),
        header=header,
        lines=lines,
        info=video_record,
    )
