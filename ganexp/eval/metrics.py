"""Metrics of generated images as pure functions: tensors in, floats out.

`feature_distances` gives FID and KID in the feature space of ganexp's own evaluator (a small classifier trained on
the data set), not Inception FID: no Inception weights can be downloaded here, and a judge trained on the data set
is what the reports use. Such numbers compare runs on the same data set and the same evaluator only; they are not
comparable with published FIDs or across data sets.
"""

import contextlib
import math
import warnings
from collections.abc import Iterator

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from ganexp.nets import eval_mode


@contextlib.contextmanager
def cpu_seeded(seed: int) -> Iterator[None]:
    """The global CPU generator seeded with `seed` inside, and every generator as it was afterwards.

    `torch.manual_seed` would seed every CUDA device too, and `fork_rng(devices=[])` restores only the CPU's: the
    training's noise, penalty and augmentation draws on a GPU would restart from `seed` after each evaluation."""
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        yield


def attribute_accuracy(logits: list[Tensor], labels: Tensor, names: list[str] | None = None,
                       untagged: list[int | None] | None = None) -> dict[str, float]:
    """Per attribute group: how often the argmax equals the label column; `overall` is the mean over all
    (image, group) pairs. `labels` is long (N, A), one column per entry of `logits`. `untagged[a]`, if given, is
    group a's "none" value: a request for "none" has no right answer, so it is not counted (NaN if nothing is)."""
    names = names or [f"attr{a}" for a in range(len(logits))]
    if not len(names) == len(logits) == labels.shape[1]:
        raise ValueError(f"{len(logits)} logit groups, {labels.shape[1]} label columns, {len(names)} names")
    hits = torch.stack([lg.argmax(1) == labels[:, a] for a, lg in enumerate(logits)], 1).float()
    asked = torch.stack([labels[:, a] != (-1 if none is None else none)
                         for a, none in enumerate(untagged or [None] * len(logits))], 1)
    result = {name: hits[:, a][asked[:, a]].mean().item() for a, name in enumerate(names)}
    result["overall"] = hits[asked].mean().item()
    return result


def multilabel_topk_accuracy(logits: Tensor, multi_hot: Tensor) -> float:
    """The iCLEVR evaluator's rule: an image with k requested labels scores how many of its k highest logits are
    requested ones; accuracy = total hits / total k."""
    k = multi_hot.sum(1).long()
    order = logits.argsort(dim=1, descending=True, stable=True)
    in_top_k = torch.arange(logits.shape[1], device=logits.device)[None] < k[:, None]
    hits = (multi_hot.gather(1, order) > 0) & in_top_k
    return (hits.sum() / k.sum().clamp(min=1)).item()



def condition_accuracy(logits: list[Tensor], labels: Tensor, multilabel: bool, names: list[str] | None = None,
                       untagged: list[int | None] | None = None) -> dict[str, float]:
    """How often the evaluator sees the requested condition: `overall`, plus one entry per attribute group
    (attribute data, requests of "none" not counted, see `attribute_accuracy`), or the iCLEVR top-k rule alone
    (multi-label data)."""
    if multilabel:
        return {"overall": multilabel_topk_accuracy(logits[0], labels)}
    return attribute_accuracy(logits, labels, names, untagged)

KID_SUBSET = 1000  # KID's subset size at most (Binkowski et al. 2018; torch-fidelity's kid_subset_size default)


class _Given(nn.Module):
    """The feature "extractor" torchmetrics is handed when the features are already computed: it passes them on.
    `num_features` stops torchmetrics probing it with a random 3x299x299 image at construction."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


@torch.no_grad()
def features_of(feature_net: nn.Module, images: Tensor, batch_size: int = 256) -> Tensor:
    """`feature_net.features` of many images, in batches, in eval mode (BatchNorm in train mode would make an
    image's features depend on the batch it comes in)."""
    with eval_mode(feature_net):
        return torch.cat([feature_net.features(chunk) for chunk in images.split(batch_size)])


@torch.no_grad()
def distances(real: Tensor, fake: Tensor, kid_subsets: int = 50, kid_subset_size: int | None = None,
              seed: int = 0) -> dict[str, float]:
    """FID and KID (mean and std over random subsets) between two sets of features (N, F) and (M, F), by
    torchmetrics' FrechetInceptionDistance and KernelInceptionDistance.

    KID's subsets hold half the smaller set, at most KID_SUBSET (`kid_subset_size` overrides, capped at the smaller
    set): subsets as large as the set would all be the whole set and the std would be 0 whatever the data. Its
    subset draws come from `seed`, so repeated calls agree and the caller's random state is left alone.
    """
    if min(len(real), len(fake)) < 2:
        raise ValueError(f"FID/KID need at least 2 images per set, got {len(real)} real and {len(fake)} fake")
    given = _Given(real.shape[1])
    fid = FrechetInceptionDistance(feature=given).to(real.device)
    subset_size = min(kid_subset_size or max(min(len(real), len(fake), 2 * KID_SUBSET) // 2, 2), len(real), len(fake))
    with warnings.catch_warnings():  # KID warns that it keeps every feature: a few MB at most here
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        kid = KernelInceptionDistance(feature=given, subsets=kid_subsets, subset_size=subset_size).to(real.device)
    for features, is_real in ((real, True), (fake, False)):
        fid.update(features, real=is_real)
        kid.update(features, real=is_real)
    with cpu_seeded(seed):  # KID draws its subsets with torch.randperm on the global CPU RNG
        kid_mean, kid_std = kid.compute()
    return {"fid": fid.compute().item(), "kid": kid_mean.item(), "kid_std": kid_std.item(),
            "kid_subset_size": subset_size}


def feature_distances(feature_net: nn.Module, real: Tensor, fake: Tensor, batch_size: int = 256,
                      kid_subsets: int = 50, kid_subset_size: int | None = None, seed: int = 0) -> dict[str, float]:
    """`distances` between float [-1, 1] image sets, measured on `feature_net.features(x) -> (N, F)`:
    ganexp-evaluator FID/KID, not Inception FID (see the module docstring)."""
    return distances(features_of(feature_net, real, batch_size), features_of(feature_net, fake, batch_size),
                     kid_subsets, kid_subset_size, seed)


def mean_pairwise_distance(features: Tensor) -> float:
    """Mean L2 distance over all pairs of rows (float64: the sum of ~N^2/2 terms)."""
    return torch.pdist(features.double()).mean().item()


def collapse_scores(fake_feats: Tensor, real_feats: Tensor, fake_classes: Tensor | None = None,
                    real_classes: Tensor | None = None, real_spread: float | None = None) -> dict[str, float]:
    """Mode-collapse indicators of a generated sample, from evaluator features (N, F) of fakes and reals.

    - `diversity_ratio`: mean pairwise feature distance among fakes / the same among reals. About 1 is healthy;
      towards 0, G repeats itself (full or partial collapse); well above 1, fakes are scattered more than data
      (noise, artefacts). Closer to 1 is better, so it is not a `monitor` (it has no higher-is-better direction).
    - `class_coverage` (with `fake_classes` and `real_classes`, the classes the evaluator predicts): the share of
      the distinct real classes that also occur among the fakes, in [0, 1]. A fake class no real image has (a noisy
      multi-label G inventing combinations) covers nothing. A row of (N,) or (N, A) is one class, so (N, A)
      attribute predictions count joint classes. It can only reach 1 when N >= the real classes: compare runs at
      the same N.

    `real_spread`: `mean_pairwise_distance(real_feats)` when already computed (the same reals every evaluation).
    """
    real_spread = mean_pairwise_distance(real_feats) if real_spread is None else real_spread
    if real_spread == 0:
        raise ValueError("real features are all identical: diversity_ratio is undefined")
    scores = {"diversity_ratio": mean_pairwise_distance(fake_feats) / real_spread}
    if (fake_classes is None) != (real_classes is None):
        raise ValueError("class_coverage needs both fake_classes and real_classes")
    if fake_classes is not None:
        real_set = torch.unique(real_classes.reshape(len(real_classes), -1), dim=0)
        fake_set = torch.unique(fake_classes.reshape(len(fake_classes), -1), dim=0)
        covered = (fake_set[:, None] == real_set[None]).all(-1).any(0)  # (real classes,): met among the fakes
        scores["class_coverage"] = int(covered.sum()) / len(real_set)
    return scores


def class_entropy(classes: Tensor) -> float:
    """The entropy (nats) of the empirical distribution of classes (N,) or joint classes (N, A), a row each."""
    counts = torch.unique(classes.reshape(len(classes), -1), dim=0, return_counts=True)[1].double()
    p = counts / counts.sum()
    return float((p * p.reciprocal().log()).sum())  # sum of p log(1/p): +0.0, not -0.0, for one class


def entropy_ratio(fake_classes: Tensor, real_classes: Tensor) -> float:
    """`collapse/style_entropy`: the entropy of the classes the evaluator sees among the fakes over that among the
    reals (joint classes for (N, A) rows, e.g. hair style x bangs). 1: as varied as the data; 0: one class only.
    NaN (no value) when the evaluator sees one class among the reals too: a judge too weak to tell (eval.floor=0)."""
    real = class_entropy(real_classes)
    return class_entropy(fake_classes) / real if real > 0 else math.nan


def code_dependence(code: Tensor, classes: Tensor, names: list[str]) -> dict[str, float]:
    """How far a categorical latent code decides each attribute the evaluator sees in G's samples (InfoGAN's claim
    that an unsupervised code picks up a factor such as hair colour): per attribute, the normalised mutual
    information between the code value (N,) and the predicted class (N, A) column, sklearn's
    `normalized_mutual_info_score` (arithmetic mean of the two entropies). 0: the attribute ignores the code;
    1: each code value draws one attribute value and vice versa. A finite sample of independent variables still
    scores a little above 0 (about (k1 - 1)(k2 - 1) / 2N nats of chance information), so compare with a
    control such as `model.info_weight=0`."""
    from sklearn.metrics import normalized_mutual_info_score

    code = code.cpu().numpy()
    return {name: float(normalized_mutual_info_score(code, classes[:, a].cpu().numpy()))
            for a, name in enumerate(names)}


def real_radii(real: Tensor, k_pr: int = 3, k_dc: int = 5) -> tuple[Tensor, Tensor]:
    """The reals' k-th nearest neighbour distances for k_pr and k_dc (float64): what
    `precision_recall_density_coverage` needs of the reals alone, to compute once for a fixed real set."""
    real_real = torch.cdist(real.double(), real.double())
    return real_real.kthvalue(k_pr + 1, dim=1).values, real_real.kthvalue(k_dc + 1, dim=1).values  # +1: itself


def precision_recall_density_coverage(real: Tensor, fake: Tensor, k_pr: int = 3, k_dc: int = 5,
                                      radii: tuple[Tensor, Tensor] | None = None) -> dict[str, float]:
    """Precision and recall (Kynkäänniemi et al. 2019, k = `k_pr`) and density and coverage (Naeem et al. 2020,
    k = `k_dc`) of fake features (M, F) against real ones (N, F), computed as clovaai/generative-evaluation-prdc
    prdc/prdc.py does: a point's radius is the distance to its k-th nearest other point of its own set, and "inside"
    is strictly closer than that radius.

    - precision: share of fakes inside some real point's ball (fidelity);
    - recall: share of reals inside some fake point's ball (diversity);
    - density: how many real balls contain a fake, / k, averaged over fakes (about 1 when fakes are distributed
      like reals; above 1 when they crowd where reals are dense);
    - coverage: share of reals whose ball contains at least one fake (diversity, robust to outlying fakes).

    `radii`: `real_radii(real, k_pr, k_dc)` when already computed (the same reals at every evaluation).
    """
    if min(len(real), len(fake)) <= max(k_pr, k_dc):
        raise ValueError(f"precision/recall/density/coverage need more than {max(k_pr, k_dc)} points per set, "
                         f"got {len(real)} real and {len(fake)} fake")
    real_pr, real_dc = radii if radii is not None else real_radii(real, k_pr, k_dc)
    real, fake = real.double(), fake.double()
    real_fake = torch.cdist(real, fake)
    fake_pr = torch.cdist(fake, fake).kthvalue(k_pr + 1, dim=1).values
    return {
        "precision": (real_fake < real_pr[:, None]).any(0).double().mean().item(),
        "recall": (real_fake < fake_pr[None, :]).any(1).double().mean().item(),
        "density": ((real_fake < real_dc[:, None]).sum(0).double().mean() / k_dc).item(),
        "coverage": (real_fake.min(1).values < real_dc).double().mean().item(),
    }


def look_agreement(classes: Tensor) -> dict[str, float]:
    """Whether G keeps the face when only a tag changes, and changes it when only the noise does (report 001's two
    tests), on the look evaluator's classes of a bank of conditional samples. `classes` is long (B, R, H, L): B
    base conditions, R noise vectors each, H values of one tag (the rest of the condition fixed), L look groups
    (hair style, bangs). Two images agree when every look group agrees. `same_noise`: the share of pairs with the
    same noise and condition but another value of the tag that agree (1: the tag changes only the colours);
    `same_tags`: the share of pairs with the same condition and tag value but other noise that agree (1: G ignores
    the noise). Every unordered pair counts once."""
    def agreement(x: Tensor) -> float:  # x (..., n, L): pairs along the second-last dimension
        same = (x[..., :, None, :] == x[..., None, :, :]).all(-1)
        n = x.shape[-2]
        return same[..., ~torch.eye(n, dtype=torch.bool, device=x.device)].double().mean().item()

    return {"same_noise": agreement(classes), "same_tags": agreement(classes.transpose(1, 2))}
