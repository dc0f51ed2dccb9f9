"""ganexp: a Hydra-driven experiment sweep runner for GANs."""
