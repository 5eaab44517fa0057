"""The reference study's wanted list: its priority order and its coverage of the paper grid."""

from bvae_tf import profiles, reference

NAMES = [spec.name for spec in reference.wanted_trials()]


def test_each_trial_is_wanted_once_and_the_paper_grid_is_covered():
    assert len(NAMES) == len(set(NAMES))
    paper = profiles.get_profile("paper")
    shapes = paper.grid("shapes")
    assert len(NAMES) == (len(shapes["entries"]) * len(shapes["betas"]) * len(shapes["seeds"])
                          + sum(1 for name in NAMES if name.startswith("mnist")))
    assert "conv-beta5.0-seed4" in NAMES and "mnist_fc-frac0.2-beta4.0-seed4" in NAMES


def test_list_a_then_the_mnist_measurement_then_fc_with_beta_zero_last():
    served = [f"{entry}-frac0.1-beta{beta}-seed0" for entry in ("mnist_conv", "mnist_fc")
              for beta in (0.0, 1.0, 4.0)]
    list_a = ["mnist_conv-frac0.3-beta0.0-seed0", "mnist_fc-frac0.1-beta1.0-seed0"]
    assert NAMES[:2] == list_a
    assert set(NAMES[:8]) == {*list_a, *served, "fc-beta4.0-seed0"}
    mnist_e = [f"{entry}-frac{fraction}-beta{beta}-seed{seed}" for entry in ("mnist_fc", "mnist_conv")
               for fraction in (0.1, 0.3) for beta in (0.0, 1.0, 4.0) for seed in (0, 1, 2)]
    list_b = [f"fc-beta{beta}-seed{seed}" for beta in (0.0, 1.0, 4.0) for seed in (0, 1, 2)]
    assert max(NAMES.index(name) for name in mnist_e) < min(
        NAMES.index(name) for name in list_b if name != "fc-beta4.0-seed0")
    assert max(NAMES.index(name) for name in list_b) < NAMES.index("conv_denoising-beta1.0-seed0")
    assert min(NAMES.index(f"fc-beta0.0-seed{seed}") for seed in (0, 1, 2)) > max(
        NAMES.index(f"fc-beta{beta}-seed{seed}") for beta in (1.0, 4.0) for seed in (0, 1, 2))
