"""Built-in data sets as *sources*: each builds a `LabelledImages` and names its settings in `key()` (the cache key).

Renderers live beside this file (`faces.py`); a source says which labels to draw and how many images.
"""

from dataclasses import asdict, dataclass

from ganexp.data.faces import EYE_COLOURS, HAIR_COLOURS, render_faces, sample_labels
from ganexp.data.module import LabelledImages


@dataclass
class Faces:
    """Procedural anime-style faces conditioned on (hair colour, eye colour): 12 x 10 conditions."""

    n: int = 20000
    image_size: int = 32
    seed: int = 0

    def key(self) -> str:
        return f"faces:{asdict(self)}"

    def build(self) -> LabelledImages:
        labels = sample_labels(self.n, self.seed, face=1, glasses=1)
        images = render_faces(labels, self.image_size, self.seed)
        return LabelledImages(
            images=images,
            labels=labels[:, :2].contiguous(),
            attributes=[("hair", list(HAIR_COLOURS)), ("eyes", list(EYE_COLOURS))],
        )
