"""Measuring an image GAN while it trains: every `eval.every_n_steps` iterations and at the end.

Generated images are compared with the fixed held-out real set (`data.holdout` images), as many fakes as reals; the
noise (and, for conditional models, the requested labels: those of the held-out images) are the same at every
evaluation and in every job. With `eval.features=inception` the end of the run also measures standard Inception
FID/KID (`fid`, `kid`; see `inception.py`), once, on `eval.inception_samples` held-out reals and as many fakes.
"""

import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch import Tensor

from ganexp.data.module import SPLIT, ImageData, fully_tagged, to_float
from ganexp.eval.evaluator import Evaluator, digest, load_or_train
from ganexp.eval.measure import Measurement
from ganexp.eval.metrics import (
    KID_SUBSET,
    collapse_scores,
    condition_accuracy,
    distances,
    entropy_ratio,
    features_of,
    look_agreement,
    mean_pairwise_distance,
    precision_recall_density_coverage,
    real_radii,
)
from ganexp.nets import eval_mode
from ganexp.schema import EvalConf

log = logging.getLogger(__name__)
TEST_REPEATS = 4  # samples per label set of a test file (32 sets -> 128 images)
DISTANCES = {"fid_eval": "fid", "kid_eval": "kid", "kid_eval_std": "kid_std"}  # logged name: distances'
LOOK_BANK = 8  # `cond/looks_*`: at most 8 base conditions x 8 noise vectors, each drawn with every value of a tag


def evaluator_training_set(datamodule: ImageData) -> tuple[Tensor, Tensor, list[int], bool,
                                                           tuple[Tensor, list[int]] | None]:
    """(images, labels, groups, multilabel, looks) the data set's evaluator learns from: its training part, real
    values only (untagged images are left out and a "none" value, always last, gets no output); looks = (their
    values, the look groups' sizes), or None for data without looks."""
    data = datamodule.load()
    images, labels = datamodule.train_images
    looks = datamodule.train_looks
    untagged = data.untagged
    if any(none is not None for none in untagged):  # (indexing copies the images: only when some lack tags)
        tagged = fully_tagged(labels, untagged)
        images, labels = images[tagged], labels[tagged]
        looks = None if looks is None else looks[tagged]
    groups = [k - (none is not None) for k, none in zip(data.groups, untagged, strict=True)]
    return images, labels, groups, data.multilabel, None if looks is None else (looks, data.look_groups)


def load_evaluator(datamodule: ImageData, floor: float, device: str | torch.device = "cpu",
                   **train_kwargs) -> Evaluator:
    """The evaluator of this data set, trained on `evaluator_training_set` (cached under the data cache); with an
    official test split (Fashion-MNIST) its accuracy is measured on the held-out test images."""
    images, labels, groups, multilabel, _ = evaluator_training_set(datamodule)
    key = f"{datamodule.source.key()}|holdout={datamodule.holdout}|{SPLIT}"
    test = datamodule.heldout_images if datamodule.load().test_split else None
    # Building (or training) it must not move the global RNG: a run's results may not depend on whether the
    # evaluator came from the cache.
    with torch.random.fork_rng(devices=[]):
        return load_or_train(datamodule.cache_dir, key, images, labels, groups, multilabel,
                             floor=floor, device=device, test=test, **train_kwargs)


def load_look_evaluator(datamodule: ImageData, device: str | torch.device = "cpu",
                        **train_kwargs) -> Evaluator | None:
    """For data with looks (the faces' hair style and bangs), a second evaluator of the same architecture that
    predicts them, trained and cached as the first one is (its key adds "|looks"); None for other data. A network of
    its own, so the first evaluator, whose features every distance and collapse score reads, stays what it was:
    runs scored before looks existed compare with runs scored after."""
    images, _, _, _, looks = evaluator_training_set(datamodule)
    if looks is None:
        return None
    values, groups = looks
    key = f"{datamodule.source.key()}|holdout={datamodule.holdout}|{SPLIT}|looks"
    with torch.random.fork_rng(devices=[]):
        model = load_or_train(datamodule.cache_dir, key, images, values, groups, False, floor=0.0, device=device,
                              **train_kwargs)
    if model.accuracy_heldout < 0.9:
        log.warning("look evaluator: held-out accuracy %.4f on %s; collapse/style_entropy reads it",
                    model.accuracy_heldout, ", ".join(name for name, _ in datamodule.load().look_attributes))
    return model


class ImageEvaluation(Measurement):
    """`fid_eval`, `kid_eval`, `collapse/*` (`collapse/style_entropy` for data with looks), `pr/*`; for
    conditional models, `acc/cond` (+ per attribute) and the test files' `acc/<name>`, and on data with looks
    `cond/looks_same_noise` / `cond/looks_same_tags` (`metrics.look_agreement`); for InfoGAN,
    `info/code_nmi/<attribute>` (how far its first categorical code decides each attribute:
    `metrics.code_dependence`); all in the feature space of the data set's evaluator; with `features="inception"`
    also `fid`, `kid`, `kid_std` in Inception's, at the end only (`finish`)."""

    def __init__(self, datamodule: ImageData, run_dir: Path, every: int, monitor: str, seed: int = EvalConf.seed,
                 floor: float = EvalConf.floor, batch_size: int = 250, threshold: float = EvalConf.threshold,
                 features: str = EvalConf.features, inception_weights: str | None = None,
                 inception_samples: int = EvalConf.inception_samples, **train_kwargs):
        super().__init__(run_dir, every, monitor, threshold)
        self.datamodule, self.seed = datamodule, seed
        self.floor, self.batch_size, self.train_kwargs = floor, batch_size, train_kwargs
        self.evaluator: Evaluator | None = None
        self.look_evaluator: Evaluator | None = None  # data with looks: what collapse/style_entropy reads
        # loaded now, at build: a machine without the weights stops before training, its run folder untouched
        self.inception, self.inception_samples = None, inception_samples
        if features == "inception":
            from ganexp.eval.inception import InceptionDistances  # torch-fidelity: imported only when asked for

            self.inception = InceptionDistances(inception_weights)

    def load(self, device: str | torch.device) -> None:
        """Train or load the evaluator and hold it to `floor` (ConfigError naming eval.floor): at build, before the
        run folder is touched."""
        self.evaluator = load_evaluator(self.datamodule, self.floor, device, **self.train_kwargs)
        self.look_evaluator = load_look_evaluator(self.datamodule, device, **self.train_kwargs)

    def prepare(self, trainer: pl.Trainer, module) -> None:
        if self.evaluator is None:
            self.load(module.device)
        self.evaluator.to(module.device)
        if self.look_evaluator is not None:
            self.look_evaluator.to(module.device)
        if trainer.logger is not None:
            looks = {} if self.look_evaluator is None else \
                {"eval/evaluator_accuracy/looks": self.look_evaluator.accuracy_heldout}
            trainer.logger.log_metrics({"eval/evaluator_accuracy": self.evaluator.accuracy_heldout, **looks}, step=0)
        real, real_labels = self.datamodule.heldout_images
        self.real, self.real_labels = to_float(real).to(module.device), real_labels.to(module.device)
        # what every evaluation compares with, computed once: the reals' features, classes, spread and k-NN radii
        self.real_features = features_of(self.evaluator, self.real, self.batch_size)
        with eval_mode(self.evaluator):
            self.real_classes = self.classes(self.evaluator.logits(self.real_features))
        self.real_look_classes = None if self.look_evaluator is None else self.look_classes(self.real)
        self.real_spread = mean_pairwise_distance(self.real_features)
        self.real_radii = real_radii(self.real_features)
        # Held-out condition files (iCLEVR's test.json / new_test.json): each label set asked for `TEST_REPEATS` times
        self.test_sets = {name: labels.repeat(TEST_REPEATS, 1).to(module.device)
                          for name, labels in self.condition_files(module).items()}
        self.look_bank = self.look_bank_of(module)

    def look_bank_of(self, module) -> tuple[Tensor, Tensor, tuple[int, int]] | None:
        """(noise, labels, (B, R)) of the `cond/looks_*` bank, in `look_agreement`'s (B, R, H) order flattened: the
        first B held-out conditions, R noise vectors each (seed + 1), each drawn with every real value of the first
        tag (the faces' hair colour, H values) and the rest of the condition kept. B = R = LOOK_BANK, fewer where
        that would draw more images than there are held-out reals (at least 2: a smoke run's 32 draw 2 x 2 x 12);
        None unless a conditional single-label model on data with looks."""
        data = self.datamodule.load()
        if self.look_evaluator is None or not module.conditional or data.multilabel:
            return None
        h = data.groups[0] - (data.untagged[0] is not None)
        b = r = max(2, min(LOOK_BANK, math.isqrt(len(self.real_labels) // h)))
        gen = torch.Generator().manual_seed(self.seed + 1)
        z = torch.randn(b, r, 1, module.z_dim, generator=gen).expand(b, r, h, module.z_dim)
        labels = self.real_labels[:b].cpu()[:, None, None].expand(b, r, h, -1).clone()
        labels[..., 0] = torch.arange(h)
        return z.reshape(-1, module.z_dim).to(module.device), labels.reshape(b * r * h, -1).to(module.device), (b, r)

    def condition_files(self, module) -> dict[str, Tensor]:
        """A conditional model's held-out condition files (iCLEVR's test.json, new_test.json), by name."""
        return getattr(self.datamodule.source, "test_sets", dict)() if module.conditional else {}

    def metric_names(self, module) -> list[str]:
        """What `measure` returns for this data and model; the score functions' keys are read off a call on 8
        random points, so the list follows the code that makes them."""
        data = self.datamodule.load()
        x, classes = torch.randn(8, 2, generator=torch.Generator().manual_seed(0)), torch.arange(8)
        names = [*DISTANCES, *(f"collapse/{k}" for k in collapse_scores(x, x, classes, classes)),
                 *(["collapse/style_entropy"] if data.looks is not None else []),
                 *(f"pr/{k}" for k in precision_recall_density_coverage(x, x))]
        attributes = [] if data.multilabel else [name for name, _ in data.attributes]
        if module.conditional:
            names += ["acc/cond", *(f"acc/cond/{name}" for name in attributes)]
            if data.looks is not None and not data.multilabel:
                names += [f"cond/looks_{k}" for k in look_agreement(torch.zeros(1, 2, 2, 1))]
        names += module.evaluation_metric_names(attributes)  # the variant's own (InfoGAN's code dependence)
        return names + [f"acc/{name}" for name in self.condition_files(module)]

    def describe(self) -> dict:
        n = len(self.datamodule.heldout_images[0])
        official = self.datamodule.load().test_split
        reference = f"{n} held-out real images (data.holdout, {'of the official test split' if official else SPLIT})"
        described = {
            "metrics": "fid_eval, kid_eval, kid_eval_std, collapse/*, pr/*, acc/*, info/code_nmi/*",
            "feature_space": f"ganexp evaluator of {self.datamodule.source.key()} (not Inception; compare only "
                             "runs on the same data settings)",
            "reference": reference,
            "fakes": n, "fake_noise_seed": self.seed,
            "evaluator_accuracy": None if self.evaluator is None else self.evaluator.accuracy_heldout,
            "evaluator_sha256": None if self.evaluator is None else digest(self.evaluator),
            "kid": f"50 subsets of {max(min(n, 2 * KID_SUBSET) // 2, 2)}",
            "pr": "precision/recall k=3 (Kynkaanniemi et al. 2019), density/coverage k=5 (Naeem et al. 2020)",
            "acc": "acc/cond: G asked for the held-out images' labels, the evaluator's prediction compared per "
                   "attribute; a request of \"none\" (an untagged image's label) has no right answer and is not "
                   "counted, in acc/cond/<attribute> nor in acc/cond",
        }
        if self.look_evaluator is not None:
            described["evaluator_accuracy_looks"] = self.look_evaluator.accuracy_heldout
            described["look_evaluator_sha256"] = digest(self.look_evaluator)
        if self.inception is not None:
            from ganexp.eval.inception import kid_subset

            m = min(self.inception_samples, n)
            described["inception"] = {
                "metrics": "fid, kid, kid_std (torchmetrics FrechetInceptionDistance, KernelInceptionDistance), "
                           "once, at the end of the run",
                "feature_space": self.inception.describe(),
                "reference": f"{m} of the {reference}", "fakes": m, "fake_noise_seed": self.seed,
                "kid": f"50 subsets of {kid_subset(m)}",
                "protocol": f"{m} vs {m} images (eval.inception_samples={self.inception_samples}) resized to 299 px; "
                            "FID is biased upwards at small sample sizes: compare only equal counts",
            }
        return described

    def look_classes(self, images: Tensor) -> Tensor:
        """The joint look class (one index per look group, e.g. style x bangs) the look evaluator sees in [-1, 1]
        images."""
        with eval_mode(self.look_evaluator):
            return torch.stack([lg.argmax(1) for lg in self.look_evaluator.predict(images, self.batch_size)], 1)

    def classes(self, logits: list[Tensor]) -> Tensor:
        """What the evaluator sees: the joint class (one index per group), or the set of present labels."""
        if self.evaluator.multilabel:
            return (logits[0] > 0).long()
        return torch.stack([lg.argmax(1) for lg in logits], 1)

    def noise(self, module, n: int) -> Tensor:
        """The fixed latent of `n` evaluation samples (the same at every evaluation and in every job)."""
        gen = torch.Generator().manual_seed(self.seed)
        return torch.randn(n, module.z_dim, generator=gen).to(module.device)

    def generate(self, module, labels: Tensor | None = None, n: int | None = None, z: Tensor | None = None) -> Tensor:
        """Fixed-noise samples: `n` of them (default: as many as held-out reals) for `labels` (default: the
        held-out reals' labels, for a conditional model); or G's images of the noise `z`."""
        if labels is None and module.conditional:
            labels = self.real_labels
        if z is None:
            z = self.noise(module, n or (len(labels) if labels is not None else len(self.real)))
        with eval_mode(module):
            fakes = [module.generate(zc, None if labels is None else labels[i * self.batch_size:][:len(zc)], ema=True)
                     for i, zc in enumerate(z.split(self.batch_size))]
        return torch.cat(fakes).clamp(-1, 1)

    @torch.no_grad()
    def measure(self, module) -> dict[str, float]:
        fake = self.generate(module)
        fake_features = features_of(self.evaluator, fake, self.batch_size)  # once: every metric below reads them
        with eval_mode(self.evaluator):
            logits = self.evaluator.logits(fake_features)
        measured = distances(self.real_features, fake_features)
        metrics = {name: measured[key] for name, key in DISTANCES.items()}
        # coverage counts the classes the evaluator sees among the held-out reals, not every possible combination
        collapse = collapse_scores(fake_features, self.real_features, self.classes(logits), self.real_classes,
                                   real_spread=self.real_spread)
        metrics.update({f"collapse/{k}": v for k, v in collapse.items()})
        if self.look_evaluator is not None:  # below 1 when the hair shapes look alike (report 003)
            metrics["collapse/style_entropy"] = entropy_ratio(self.look_classes(fake), self.real_look_classes)
        prdc = precision_recall_density_coverage(self.real_features, fake_features, radii=self.real_radii)
        metrics.update({f"pr/{k}": v for k, v in prdc.items()})
        if module.conditional:
            data = self.datamodule.load()
            acc = condition_accuracy(logits, self.real_labels, self.evaluator.multilabel,
                                     [name for name, _ in data.attributes], data.untagged)
            metrics["acc/cond"] = acc.pop("overall")
            metrics.update({f"acc/cond/{k}": v for k, v in acc.items()})
        if not self.evaluator.multilabel:  # the variant's own metrics, on the evaluator's classes of the fakes
            names = [name for name, _ in self.datamodule.load().attributes]
            metrics.update(module.evaluation_metrics(self.noise(module, len(fake)), self.classes(logits), names))
        if self.look_bank is not None:  # report 001: the same noise keeps the face, other noise changes it
            z, labels, shape = self.look_bank
            classes = self.look_classes(self.generate(module, labels, z=z))
            agreement = look_agreement(classes.view(*shape, -1, classes.shape[1]))
            metrics.update({f"cond/looks_{k}": v for k, v in agreement.items()})
        for name, labels in self.test_sets.items():
            logits = self.evaluator.predict(self.generate(module, labels))
            metrics[f"acc/{name}"] = condition_accuracy(logits, labels, self.evaluator.multilabel)["overall"]
        return metrics

    def fake_batches(self, module, n: int) -> Iterator[Tensor]:
        """The first `n` fixed-noise samples (those `measure` compares, and more), a batch at a time."""
        z, labels = self.noise(module, n), self.real_labels[:n] if module.conditional else None
        with eval_mode(module):
            for i, zc in enumerate(z.split(self.batch_size)):
                yield module.generate(zc, None if labels is None else labels[i * self.batch_size:][:len(zc)],
                                      ema=True).clamp(-1, 1)

    @torch.no_grad()
    def finish(self, trainer: pl.Trainer, module) -> None:
        """Standard Inception FID/KID, once, added to the last evaluation: Inception at 299 px is too costly on a
        CPU to repeat at every evaluation (the reals' features are cached beside the data, for the sweep's other
        jobs). A resumed run that already has it does not measure it again."""
        if self.inception is None or not self.history or "fid" in self.history[-1]:
            return
        start, n = time.perf_counter(), min(self.inception_samples, len(self.real))
        reals = f"{self.datamodule.source.key()}|holdout={self.datamodule.holdout}|{SPLIT}"  # the first n of these
        self.inception.set_reals(self.real[:n], self.datamodule.cache_dir, reals)
        metrics = self.inception(self.fake_batches(module, n))
        metrics["eval/inception_seconds"] = time.perf_counter() - start
        self.history[-1].update(metrics)
        if trainer.logger is not None:
            trainer.logger.log_metrics(metrics, step=module.iteration)
        log.info("Inception at %d (%d vs %d images): fid=%.4g, kid=%.4g (%.1fs)", module.iteration, n, n,
                 metrics["fid"], metrics["kid"], metrics["eval/inception_seconds"])
