"""The cluster recipes in deploy/: the SLURM job scripts dask-jobqueue writes from the course's
settings, and the Kubernetes manifests (GPU workers advertise the GPU resource, CPU ones do not)."""

from __future__ import annotations

import importlib.util

import pytest
import yaml
from conftest import ROOT

DEPLOY = ROOT / "deploy"


def _slurm():
    spec = importlib.util.spec_from_file_location("slurm_cluster", DEPLOY / "slurm" / "cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("gpu", [False, True])
def test_slurm_job_scripts_ask_for_a_gpu_only_in_the_gpu_pool(gpu):
    local = {"host": "127.0.0.1", "dashboard_address": ":0"}
    cluster = _slurm().slurm_cluster(gpu, scheduler_options=local)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert ("#SBATCH --gres=gpu:1" in script) == gpu, script
    assert ("--resources GPU=1" in script) == gpu, script
    assert "--nthreads 1" in script, script  # one student kernel at a time per worker
    assert "source ~/cvcourse/.venv/bin/activate" in script
    assert "export DASK_DISTRIBUTED__ADMIN__LOW_LEVEL_LOG_LENGTH=20" in script
    settings = yaml.safe_load((DEPLOY / "slurm" / "jobqueue.yaml").read_text())
    assert settings["distributed"]["admin"]["low-level-log-length"] == 20  # the scheduler's
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")


def test_kubernetes_gpu_workers_advertise_the_gpu_and_cpu_workers_do_not():
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "daskcluster.yaml").read_text()))
    cluster, gpu_group = docs
    assert cluster["kind"] == "DaskCluster" and gpu_group["kind"] == "DaskWorkerGroup"
    assert gpu_group["spec"]["cluster"] == cluster["metadata"]["name"]
    cpu = cluster["spec"]["worker"]["spec"]["containers"][0]
    gpu = gpu_group["spec"]["worker"]["spec"]["containers"][0]
    assert "--resources" not in cpu["args"] and "nvidia.com/gpu" not in cpu["resources"]["limits"]
    assert gpu["args"][gpu["args"].index("--resources") + 1] == "GPU=1"
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == 1
    scheduler = cluster["spec"]["scheduler"]["spec"]["containers"][0]
    retry_once = {"name": "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES", "value": "1"}
    assert retry_once in scheduler["env"]
    short_logs = {"name": "DASK_DISTRIBUTED__ADMIN__LOW_LEVEL_LOG_LENGTH", "value": "20"}
    assert all(short_logs in c["env"] for c in (scheduler, cpu, gpu))
    assert cpu["image"] == gpu["image"] == scheduler["image"]
