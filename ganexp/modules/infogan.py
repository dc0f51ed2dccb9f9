"""InfoGAN (Chen et al. 2016): latent codes that G must make recoverable, learned without labels.

The latent of G is [noise, codes]. `model.codes` sets the categorical codes (a list of sizes, each uniform over its
values) and the number of continuous codes (uniform in [-1, 1]). A Q head on D's 4x4 features predicts them, and
both networks minimise `info_weight` x `info_loss` (Q through D's optimizer, with the LR `info_lr` if set).

The latent that sample grids and evaluation draw, `z` of size `z_dim` = noise + one column per code, is Gaussian;
each code column goes through the normal CDF to become the code (uniform), so every caller that draws
`randn(n, module.z_dim)` samples codes from their prior without knowing about them.
"""

import math
from collections.abc import Mapping
from typing import Annotated, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganexp.errors import ConfigError
from ganexp.eval.metrics import code_dependence
from ganexp.losses import info_loss
from ganexp.modules.base import GANModule, latent
from ganexp.ranges import POSITIVE, Weight
from ganexp.viz import to_grid


def parse_codes(codes: Mapping[str, Any]) -> tuple[list[int], int]:
    """(categorical sizes, number of continuous codes) from `model.codes`."""
    codes = dict(codes)
    unknown = set(codes) - {"categorical", "continuous"}
    if unknown:
        raise ConfigError(f"model.codes: unknown keys {sorted(unknown)} (it takes categorical, continuous)")
    categorical, continuous = [int(k) for k in codes.get("categorical", [])], int(codes.get("continuous", 0))
    if any(k < 2 for k in categorical) or continuous < 0:
        raise ConfigError(f"model.codes={codes}: categorical sizes must be >= 2, continuous >= 0")
    return categorical, continuous


class InfoGAN(GANModule):
    conditional = False

    def __init__(self, *args, codes: Mapping[str, Any], info_weight: Weight, continuous_weight: Weight,
                 info_lr: Annotated[float, POSITIVE] | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.categorical, self.continuous = parse_codes(codes)
        self.noise_dim = self.z_dim
        self.z_dim = self.noise_dim + len(self.categorical) + self.continuous  # the latent that callers draw
        self.info_weight, self.continuous_weight, self.info_lr = info_weight, continuous_weight, info_lr
        self.q_head = nn.Sequential(nn.Flatten(), nn.Linear(self.discriminator.feature_size, 128),
                                    nn.LeakyReLU(0.2, True),
                                    nn.Linear(128, (sum(self.categorical) + self.continuous) * self.d_pack))

    @classmethod
    def condition_sizes(cls, cond_dim: int, settings: Mapping) -> tuple[int, int]:
        """G's "condition" is the codes, one-hot categorical and continuous; D reads none."""
        categorical, continuous = parse_codes(settings["codes"])
        return sum(categorical) + continuous, 0

    def d_parameters(self) -> list:
        q = {"params": list(self.q_head.parameters())}
        if self.info_lr is not None:
            q["lr"] = self.info_lr
        return [{"params": super().d_parameters()}, q]

    # ---- codes ---------------------------------------------------------------------------------------------------
    def codes_of(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """(categorical long (N, C), continuous (N, K) in [-1, 1]) from the code columns of the latent."""
        u = 0.5 * (1 + torch.erf(z[:, self.noise_dim:] / math.sqrt(2)))  # uniform in (0, 1)
        columns = [(u[:, j] * k).long().clamp(max=k - 1) for j, k in enumerate(self.categorical)]  # no host copy
        cat = torch.stack(columns, 1) if columns else u[:, :0].long()
        return cat, 2 * u[:, len(self.categorical):] - 1

    def decode(self, noise: Tensor, cat: Tensor, cont: Tensor, ema: bool = False) -> Tensor:
        onehots = [F.one_hot(cat[:, j], k).float() for j, k in enumerate(self.categorical)]
        return self.drawing_parts(ema)[0](latent(noise, self.z_prior), torch.cat([*onehots, cont], 1))

    def generate(self, z: Tensor, labels: Tensor | None = None, ema: bool = False) -> Tensor:
        return self.decode(z[:, :self.noise_dim], *self.codes_of(z), ema=ema)

    def predict_codes(self, h: Tensor) -> tuple[list[Tensor], Tensor]:
        out = self.per_sample(self.q_head(h))  # a packed D's Q predicts the codes of every sample of the pack
        return list(out[:, :sum(self.categorical)].split(self.categorical, 1)), out[:, sum(self.categorical):]

    def info(self, fake_h: Tensor, z: Tensor) -> Tensor:
        cat, cont = self.codes_of(z)
        cat_logits, cont_pred = self.predict_codes(fake_h)
        loss = info_loss(cat_logits, cat, cont_pred, cont, self.continuous_weight)
        self.track(**{"loss/info": loss})
        if cat_logits:
            self.track(**{"info/cat_acc": (cat_logits[0].argmax(1) == cat[:, 0]).float().mean()})
        return self.info_weight * loss

    def d_extra(self, real_h: Tensor, labels: Tensor, fake_h: Tensor, fake_labels: Tensor, z: Tensor) -> Tensor:
        return self.info(fake_h, z)

    def g_extra(self, fake_h: Tensor, fake_labels: Tensor, z: Tensor) -> Tensor:
        return self.info(fake_h, z)

    # ---- evaluation ----------------------------------------------------------------------------------------------
    def evaluation_metric_names(self, attributes: list[str]) -> list[str]:
        return [f"info/code_nmi/{name}" for name in attributes] if self.categorical else []

    def evaluation_metrics(self, z: Tensor, classes: Tensor, attributes: list[str]) -> dict[str, float]:
        """`info/code_nmi/<attribute>`: how far the first categorical code decides each attribute of the fakes."""
        if not self.categorical:
            return {}
        code = self.codes_of(z)[0][:, 0]
        return {f"info/code_nmi/{k}": v for k, v in code_dependence(code, classes, attributes).items()}

    # ---- pictures ------------------------------------------------------------------------------------------------
    def pictures(self, seed: int, columns: int = 8, steps: int = 9) -> dict[str, Tensor]:
        """`code_cat<j>`: one row per value of categorical code j (columns: fixed noise, other codes fixed);
        `code_cont<j>`: continuous code j swept from -2 to 2 along each row (rows: values of the first categorical
        code, or 4 noises without one), everything else fixed."""
        gen = torch.Generator().manual_seed(seed)
        base = torch.randn(columns, self.z_dim, generator=gen).to(self.device)
        noise, (cat, cont) = base[:, :self.noise_dim], self.codes_of(base)
        pictures = {}
        for j, k in enumerate(self.categorical):
            c = cat.repeat(k, 1)
            c[:, j] = torch.arange(k, device=self.device).repeat_interleave(columns)
            pictures[f"code_cat{j}"] = to_grid(self.decode(noise.repeat(k, 1), c, cont.repeat(k, 1), ema=True), columns)
        rows = self.categorical[0] if self.categorical else 4
        for j in range(self.continuous):
            row_noise = noise[:1].repeat(rows, 1) if self.categorical else noise[:rows]
            row_cat = cat[:1].repeat(rows, 1)
            if self.categorical:
                row_cat[:, 0] = torch.arange(rows, device=self.device)
            values = torch.linspace(-2, 2, steps, device=self.device)
            c = cont[:1].repeat(rows * steps, 1)
            c[:, j] = values.repeat(rows)
            rows_noise, rows_cat = row_noise.repeat_interleave(steps, 0), row_cat.repeat_interleave(steps, 0)
            pictures[f"code_cont{j}"] = to_grid(self.decode(rows_noise, rows_cat, c, ema=True), steps)
        return pictures
