"""Start a pool of grading workers on SLURM with dask-jobqueue and print the scheduler address
for `python -m autograder grade ... --scheduler ADDRESS`; keeps the pool until Ctrl-C.

    python deploy/slurm/cluster.py --jobs 20          # CPU pool
    python deploy/slurm/cluster.py --gpu --jobs 4     # GPU pool (for --device cuda)
    python deploy/slurm/cluster.py --print-job-script # the sbatch script, submitting nothing
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import dask
import yaml

CONFIG = Path(__file__).with_name("jobqueue.yaml")
# GPU jobs: a GPU each, advertised as the Dask resource that CUDA grading tasks ask for
GPU_POOL = {"job_extra_directives": ["--gres=gpu:1"], "worker_extra_args": ["--resources", "GPU=1"],
            "job_cpu": 4, "memory": "32GiB"}


def slurm_cluster(gpu: bool = False, config: Path = CONFIG, **overrides):
    """A ``SLURMCluster`` with the course's settings (the GPU pool's when ``gpu``)."""
    from dask_jobqueue import SLURMCluster

    dask.config.update(dask.config.config, yaml.safe_load(config.read_text()), priority="new")
    if gpu:
        overrides = {**GPU_POOL, **overrides}
    return SLURMCluster(**overrides)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="GPU workers (--resources GPU=1)")
    parser.add_argument("--jobs", type=int, default=4, help="SLURM jobs, one worker each")
    parser.add_argument("--print-job-script", action="store_true")
    args = parser.parse_args()
    cluster = slurm_cluster(args.gpu)
    if args.print_job_script:
        print(cluster.job_script())
        cluster.close()
        return
    cluster.scale(jobs=args.jobs)
    print(f"scheduler: {cluster.scheduler_address}\ngrade with: python -m autograder grade "
          f"ASSIGNMENT --submissions DIR --scheduler {cluster.scheduler_address}"
          + (" --device cuda" if args.gpu else ""), flush=True)
    try:
        while True:
            time.sleep(60)
    except KeyboardInterrupt:
        cluster.close()


if __name__ == "__main__":
    main()
