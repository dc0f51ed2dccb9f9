"""Where gp 32 px's step spends its time: torch.profiler over 12 iterations after 4 warm-up, 1 thread.

    .venv/bin/python docs/experiments/profile_gp32/prof.py cpu_fast   (or: default, for fp32)
"""
import sys, tempfile
from pathlib import Path
import torch, pytorch_lightning as pl
from hydra import compose, initialize_config_dir
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from ganexp.bench import CONF, RandomImages
from ganexp.data.module import ImageData
from ganexp.schema import register
from ganexp.train import build_module, quiet_lightning, resolve_arithmetic
torch.set_num_threads(1)
quiet_lightning()
register()
trainer_opt = sys.argv[1]
with initialize_config_dir(str(CONF), version_base="1.3"):
    cfg = compose("config", overrides=["data.image_size=32", "loss=gp", f"trainer={trainer_opt}", "eval.enabled=false"])
resolve_arithmetic(cfg.trainer)
dm = ImageData(RandomImages(64 * 40, 32), 64, tempfile.mkdtemp(), holdout=0, seed=0)
module = build_module(cfg, dm, max_iters=4)
module.speed_up(cfg.trainer.channels_last, False)
t = cfg.trainer
pl.Trainer(accelerator="cpu", devices=1, max_epochs=-1, logger=False, precision=t.precision, enable_progress_bar=False,
           enable_checkpointing=False, enable_model_summary=False).fit(module, datamodule=dm)
module.loop = module.loop.__class__(**{**module.loop.__dict__, "max_iters": 16})
from torch.profiler import profile, ProfilerActivity
with profile(activities=[ProfilerActivity.CPU]) as prof:
    pl.Trainer(accelerator="cpu", devices=1, max_epochs=-1, logger=False, precision=t.precision, enable_progress_bar=False,
               enable_checkpointing=False, enable_model_summary=False).fit(module, datamodule=dm)
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=22))
