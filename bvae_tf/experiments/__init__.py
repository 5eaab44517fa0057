"""Experiments of the paper: one trial of the shapes study, one of the MNIST study."""
