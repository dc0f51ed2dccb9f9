"""AC-GAN (Odena et al. 2017): G is conditioned; D does not see the condition but predicts it.

D's 4x4 features feed one softmax head per attribute group (or one sigmoid head over all labels for multi-label
data). As in the paper, D's loss adds the classification loss on real and on fake images (L_C = log P(C=c|X_real)
+ log P(C=c|X_fake); `cls_on_fake=false` keeps the real term only), G's adds it on its own images, each times
`cls_weight`.
"""

from torch import Tensor, nn

from ganexp.losses import classification_loss
from ganexp.modules.base import GANModule
from ganexp.ranges import Weight


class ACGAN(GANModule):
    conditional = True
    d_conditional = False

    def __init__(self, *args, cls_weight: Weight, cls_on_fake: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.cls_weight, self.cls_on_fake = cls_weight, cls_on_fake
        width = self.discriminator.feature_size
        outputs = [sum(self.groups)] if self.multilabel else self.groups
        # a packed D (d_pack > 1) predicts the labels of every sample of the pack
        self.heads = nn.ModuleList(nn.Sequential(nn.Flatten(), nn.Linear(width, n * self.d_pack)) for n in outputs)

    def d_parameters(self) -> list:
        return super().d_parameters() + list(self.heads.parameters())

    def classify(self, h: Tensor) -> list[Tensor]:
        return [self.per_sample(head(h)) for head in self.heads]

    def d_extra(self, real_h: Tensor, labels: Tensor, fake_h: Tensor, fake_labels: Tensor, z: Tensor) -> Tensor:
        loss = classification_loss(self.classify(real_h), labels, self.multilabel)
        self.track(**{"loss/d_cls": loss})
        if self.cls_on_fake:
            loss = loss + classification_loss(self.classify(fake_h), fake_labels, self.multilabel)
        return self.cls_weight * loss

    def g_extra(self, fake_h: Tensor, fake_labels: Tensor, z: Tensor) -> Tensor:
        loss = classification_loss(self.classify(fake_h), fake_labels, self.multilabel)
        self.track(**{"loss/g_cls": loss})
        return self.cls_weight * loss
