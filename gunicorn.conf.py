"""gunicorn's settings for the portal, read when gunicorn starts in this directory (its default config file).

Metrics: each worker process writes its counters to one folder and a scrape of any worker reads them all
(prometheus-client's multiprocess mode, portal/metrics.py). The folder is made fresh when gunicorn starts,
unless ``PROMETHEUS_MULTIPROC_DIR`` names one already; a worker that exits is marked dead so that its
live-only figures go with it."""

import glob
import os
import tempfile

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portal-metrics-")
else:  # figures of a previous run are not this run's: its files go (only those)
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in glob.glob(os.path.join(folder, "*.db")):
        os.remove(name)


def child_exit(server, worker):  # noqa: ANN001, ARG001 - gunicorn's hook
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
