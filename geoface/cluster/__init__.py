"""Many machines: run geoface's heavy steps on a Dask cluster, with one thread budget.

* :func:`parse_cluster` / :func:`open_client` — ``--cluster local[:N] | tcp://host:port |
  config.yaml`` (a ``dask_jobqueue`` class: SLURM, PBS, SGE …); :func:`job_script` shows
  the batch script a config file would submit, without submitting it.
* :func:`run_tasks` — run picklable tasks with a module-level function on a cluster or
  here: retries, rescheduling when a worker dies, progress over tasks with items/s,
  per-worker timings.
* :func:`extract_images_on_cluster` — image extraction whose landmark step runs on the
  cluster (workers fill the shared landmark cache; the table equals the one-machine table).
* :func:`segment_runner` — video extraction whose segments run on the cluster (the
  ``run_tasks`` of :func:`geoface.video.extract_videos`): slim tasks, each video's
  frame-time index sent once, the run's record in the sidecar (``video`` → ``cluster``).
* ``baseline train --cluster`` — the CNN's folds as tasks (``baselines.train_baseline``'s
  ``cluster=``), one fold per worker, the faces sent once.
* :func:`thread_budget` — one number of threads for BLAS/OpenMP, XGBoost, PyTorch, OpenCV
  and dlib alike.
"""

from .._threads import current_threads, default_threads, thread_budget
from ._images import ImageTask, extract_images_on_cluster, plan_image_tasks, run_image_task
from ._probe import ProbeTask, probe_task
from ._run import TaskRun, run_tasks
from ._spec import JOBQUEUE_CLASSES, ClusterSpec, job_script, open_client, parse_cluster
from ._video import SegmentRunner, segment_runner, slim_segment

__all__ = [
    "JOBQUEUE_CLASSES",
    "ClusterSpec",
    "ImageTask",
    "ProbeTask",
    "SegmentRunner",
    "TaskRun",
    "current_threads",
    "default_threads",
    "extract_images_on_cluster",
    "job_script",
    "open_client",
    "parse_cluster",
    "plan_image_tasks",
    "probe_task",
    "run_image_task",
    "run_tasks",
    "segment_runner",
    "slim_segment",
    "thread_budget",
]
