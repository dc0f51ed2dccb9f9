"""Hostile-suite rows: bad config values. Each stops at start-up with one line naming the key, nothing touched."""

from hostile import run_case

# (id, overrides, what the error line names)
ROWS = [
    ("image size", ["data.image_size=48"], "data.image_size=48"),
    ("negative length", ["trainer.max_iters=-5"], "trainer.max_iters=-5"),
    ("zero batch", ["data.batch_size=0"], "data.batch_size=0"),
    ("unknown norm", ["model.discriminator.norm=group"], "model.discriminator.norm='group'"),
    ("unknown d_cond", ["model=cgan", "model.discriminator.cond=sideways"], "model.discriminator.cond='sideways'"),
    ("unknown wrong_sampling", ["model=cgan", "model.wrong_sampling=sometimes"], "model.wrong_sampling"),
    ("negative lr", ["optimizer.d.lr=-1"], "optimizer.d.lr=-1"),
    ("gp on batchnorm", ["loss=gp", "model.discriminator.norm=batch"], "model.discriminator.norm=batch"),
    ("wrong type", ["trainer.max_iters=abc"], "trainer.max_iters"),
    ("unknown key", ["model.nosuch=1"], "model.nosuch"),
    ("unknown option", ["model=nosuch"], "model/nosuch"),
    ("d_every zero", ["sched.d_every=0"], "sched.d_every=0"),
    ("pack size not dividing the batch", ["model.d_pack=3"], "model.d_pack=3 does not divide data.batch_size"),
    ("clip not a number", ["loss=wgan", "loss.clip=abc"], "loss.clip"),
    ("toy model, image data", ["model=toy"], "model.generator=MLPGenerator"),
    ("image model, toy data", ["data=toy_ring", "model=dcgan"], "data=PointData"),
    ("too few eval samples", ["eval.enabled=true", "data.holdout=1"], "data.holdout=1"),
    ("unknown eval features", ["eval.features=clip"], "eval.features=clip"),
    ("missing Inception weights", ["eval.enabled=true", "eval.features=inception",
                                   "eval.inception_weights=/nonexistent/inception.pth"],
     "eval.inception_weights=/nonexistent/inception.pth: no such file"),
    ("colour count", ["data=cartoon", "data.source.hair=99"], "data.source.hair=99: must be between 1 and 12"),
    ("untagged share", ["data=cartoon", "data.source.untagged=1.0"], "data.source.untagged=1.0"),
    ("colour wrong tags, multi-label data", ["model=cgan", "data=shapes", "model.wrong_sampling=colours"],
     "model.wrong_sampling=colours"),
    ("infogan code size", ["model=infogan", "model.codes.categorical=[1]"], "model.codes"),
    ("fewer images than a batch", ["data.source.n=40"], "data.batch_size=16"),
]

CASES = [run_case(f"config: {id}", "config", args, names) for id, args, names in ROWS]
