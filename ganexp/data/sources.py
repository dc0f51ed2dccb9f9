"""Built-in data sets as *sources*: each builds a `LabelledImages` and names its settings in `key()` (the cache key).

Renderers live beside this file (`faces.py`, `shapes.py`); a source says which labels to draw and how many images.
User-file loaders (`files.py`) are sources too.
"""

from dataclasses import asdict, dataclass, replace
from typing import Annotated

import torch
import torch.nn.functional as F

from ganexp.data.faces import (
    BANGS,
    EYE_COLOURS,
    FACE_COLOURS,
    GLASSES,
    HAIR_COLOURS,
    STYLES,
    render_faces,
    sample_labels,
    sample_looks,
)
from ganexp.data.module import UNTAGGED, LabelledImages
from ganexp.ranges import Count, Range, Seed


@dataclass
class Faces:
    """Procedural anime-style faces. Attributes: hair and eye colour, face colour and glasses (Cartoon-Set style);
    each group uses its first k values, and a group with k = 1 is constant and not a label.
    The default is the anime-faces stand-in, 12 hair x 10 eye colours; `data=cartoon` is 6 x 4 x 3 x 2.
    `untagged`: the share of images whose tags are removed, as in the reports' anime data where nearly half had no
    hair or eye tag: every group gets a last value "none" and those images' labels become it (drawn as they are).
    Hair style and bangs are the data's looks: the evaluator learns them (`collapse/style_entropy`), G and D never
    see them."""

    n: Count
    image_size: Count
    seed: Seed
    untagged: Annotated[float, Range(0, 1, high_open=True)]  # share of images without tags (faces.yaml: 0.0)
    hair: Annotated[int, Range(1, len(HAIR_COLOURS))] = 12
    eyes: Annotated[int, Range(1, len(EYE_COLOURS))] = 10
    face: Annotated[int, Range(1, len(FACE_COLOURS))] = 1
    glasses: Annotated[int, Range(1, len(GLASSES))] = 1

    def key(self) -> str:
        settings = asdict(self)
        if not self.untagged:  # data and evaluators cached before the option existed stay valid
            del settings["untagged"]
        return f"faces:{settings}"

    def build(self) -> LabelledImages:
        groups = [("hair", HAIR_COLOURS, self.hair), ("eyes", EYE_COLOURS, self.eyes),
                  ("face", FACE_COLOURS, self.face), ("glasses", GLASSES, self.glasses)]
        labels = sample_labels(self.n, self.seed, self.hair, self.eyes, self.face, self.glasses)
        images = render_faces(labels, self.image_size, self.seed)
        used = [a for a, (_, _, k) in enumerate(groups) if k > 1]
        data = LabelledImages(
            images=images,
            labels=labels[:, used].contiguous(),
            attributes=[(groups[a][0], list(groups[a][1][:groups[a][2]])) for a in used],
            looks=sample_looks(self.n, self.seed),
            look_attributes=[("style", list(STYLES)), ("bangs", list(BANGS))],
        )
        return remove_tags(data, self.untagged, self.seed) if self.untagged else data


def remove_tags(data: LabelledImages, share: float, seed: int) -> LabelledImages:
    """`data` with every group's value "none" appended and the labels of round(share * N) images (a fixed choice
    from `seed`) set to it in every group; the images are unchanged."""
    gen = torch.Generator().manual_seed((seed * 0x2545F491 + 0x3C6EF372) % 2**32)  # not the labels' own stream
    chosen = torch.randperm(len(data), generator=gen)[:round(share * len(data))]
    labels = data.labels.clone()
    labels[chosen] = torch.tensor(data.groups)  # each group's new last index
    # the looks are no tags: an untagged image keeps its looks
    return replace(data, labels=labels, attributes=[(name, [*values, UNTAGGED]) for name, values in data.attributes])


@dataclass
class Digits:
    """scikit-learn's bundled handwritten digits (1,797 real 8x8 grey images, 10 classes), upscaled bilinearly to
    `image_size` and repeated to 3 channels, so every network and the evaluator take them unchanged."""

    image_size: Count
    n: Count | None = None  # the first n after a fixed shuffle (None: all 1,797)

    def key(self) -> str:
        return f"digits:{asdict(self)}"

    def build(self) -> LabelledImages:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = torch.from_numpy(digits.images).float()[:, None] / 16.0  # values 0..16, ink is high
        x = F.interpolate(x, size=self.image_size, mode="bilinear", align_corners=False)
        images = (255 * (1 - x.clamp(0, 1))).round().to(torch.uint8).repeat(1, 3, 1, 1)  # dark ink on white
        # sklearn orders the digits by writer; shuffle once (fixed) so the held-out tail is not one writer's.
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:self.n]
        labels = torch.from_numpy(digits.target).long()[:, None]
        return LabelledImages(images=images[order], labels=labels[order],
                              attributes=[("digit", [str(d) for d in range(10)])])


@dataclass
class Shapes:
    """Procedural iCLEVR-like scenes: 1-3 shaded objects from 3 shapes x 8 colours, multi-hot over the 24 labels.
    `test_sets()` are the shipped test.json / new_test.json-style label files, scored as acc/test, acc/new_test."""

    n: Count
    image_size: Count
    seed: Seed

    def key(self) -> str:
        return f"shapes:{asdict(self)}"

    def build(self) -> LabelledImages:
        from ganexp.data import shapes

        label_sets = shapes.sample_label_sets(self.n, self.seed)
        return LabelledImages(images=shapes.render_shapes(label_sets, self.image_size, self.seed),
                              labels=shapes.multi_hot(label_sets), attributes=[("objects", list(shapes.OBJECTS))],
                              multilabel=True)

    def test_sets(self) -> dict[str, torch.Tensor]:
        from ganexp.data import shapes

        return shapes.test_sets()
