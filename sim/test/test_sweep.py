"""Sweeps in local processes and on a real Dask scheduler."""

from pathlib import Path

from distributed import LocalCluster

from corridor_sim.cli import standalone


def _rows(out: Path) -> list[str]:
    return (out / "sweep.csv").read_text().splitlines()


def test_sweep_in_processes(tmp_path: Path) -> None:
    code = standalone(["sim", "sweep", "--hours", "1", "--param", "fleet", "--values", "10,20",
                       "--workers", "2", "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    rows = _rows(tmp_path)
    assert len(rows) == 3 and (tmp_path / "sweep.png").exists()
    assert len(list((tmp_path / "points").iterdir())) == 2


def test_sweep_on_a_dask_scheduler(tmp_path: Path) -> None:
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        code = standalone(["sim", "sweep", "--hours", "1", "--param", "service_scale",
                           "--values", "0.8,1.2", "--dask", cluster.scheduler_address,
                           "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    assert len(_rows(tmp_path)) == 3
