"""Finished jobs' folders as a run leaves them, written without training."""


def fake_job(folder, overrides, fid_by_iteration):
    """A finished job's folder as a run leaves it: its overrides, status, metrics.json and fid_eval curve."""
    import json

    from torch.utils.tensorboard import SummaryWriter

    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (folder / "status.json").write_text(json.dumps({"status": "completed"}))
    last = max(fid_by_iteration)
    (folder / "metrics.json").write_text(json.dumps({"iterations": last, "wall_time_s": 10.0, "images_per_s": 5.0,
                                                     "final": {"fid_eval": fid_by_iteration[last]}}))
    with SummaryWriter(folder / "tb") as writer:
        for step, fid in fid_by_iteration.items():
            writer.add_scalar("fid_eval", fid, step)
