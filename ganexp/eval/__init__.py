"""Evaluation: a classifier trained on real data (`evaluator`), metrics in its feature space (`metrics`),
and the training-time callback that measures, logs and keeps the best checkpoint (`callback`)."""
