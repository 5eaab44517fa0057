"""The card of the zoo's other objectives: `zoo/objectives.md`, one page for the ten entries.

The entries of `bvae_tf.zoo.OBJECTIVE_NAMES` train the paper's shapes nets (`fc`, `conv`)
by beta-TCVAE, DIP-VAE I and II, AnnealedVAE and FactorVAE. They join no reproduction
profile and no reference study, so the card states what each entry is (its loss, its own
arguments and their sources, its parameters) and the command of a short scored run, whose
scores BENCHMARKS.md holds. `bvae-tf zoo cards` writes it beside the paper's cards.
"""

import inspect
import itertools

from bvae_tf import zoo

# class -> its loss beside the reconstruction, in the classes' docstrings' notation.
LOSSES = {
    "BetaTCVAE": "beta * KL + tc_weight * TC (TC by minibatch-weighted sampling)",
    "DIPVAE": "beta * KL + lambda_od * sum_{i!=j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2",
    "AnnealedVAE": "beta * abs(KL - C), C = min(max_capacity, max_capacity * step / "
                   "capacity_steps)",
    "FactorVAE": "beta * KL + tc_weight * TC (TC by a discriminator's density ratio)",
}
METRICS = "beta_vae,mig,factor_vae,dci,sap"


def short_run_command(name, results_dir="runs/objectives"):
    """The command of a short scored run of entry `name` (5 epochs on a tenth of the data).

    Example:
        >>> short_run_command("fc_dip_vae_i").split(" --metrics")[0]
        'bvae-tf train --model fc_dip_vae_i --beta 1 --max-epochs 5 --train-fraction 0.1'
    """
    return (f"bvae-tf train --model {name} --beta 1 --max-epochs 5 --train-fraction 0.1 "
            f"--metrics {METRICS} --results {results_dir}")


def discriminator_parameters(entry):
    """Trainable scalars of a FactorVAE entry's discriminator (0 for the other classes).

    Example:
        >>> discriminator_parameters(zoo.entry("fc_factor_vae"))  # 10 -> 6 x 1000 -> 2
        5018002
    """
    if entry.model_class != "FactorVAE":
        return 0
    from bvae_tf.models import FactorVAE

    default = inspect.signature(FactorVAE).parameters["discriminator_units"].default
    units = entry.model_options.get("discriminator_units", default)
    sizes = [entry.latent_dim, *units, 2]
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))


def card_text(parameter_count, note):
    """The markdown of `zoo/objectives.md`.

    Args:
        parameter_count: callable, entry name -> trainable scalars of the VAE
            (`bvae_tf.reports.cards.parameter_count`).
        note: str, the generated-file note the cards open with.
    """
    lines = ["# The other objectives", "", note, "",
             ("The paper's shapes nets trained by beta-VAE's successors: "
              "`bvae_tf.zoo.build(name)` builds an entry compiled (Adam and learning rates as "
              "its paper entry's). They join no reproduction profile and no reference study."),
             "",
             "| entry | class | loss beside the reconstruction | own arguments | parameters |",
             "|---|---|---|---|---|"]
    for name in zoo.OBJECTIVE_NAMES:
        entry = zoo.entry(name)
        options = ", ".join(f"{key}={value!r}" for key, value in entry.model_options.items())
        count = parameter_count(entry.architecture) + discriminator_parameters(entry)
        lines.append(f"| `{name}` | `{entry.model_class}` | {LOSSES[entry.model_class]} | "
                     f"{options} | {count:,} |")
    lines += ["", ("Nets: `fc_*` as [fc](fc.md), `conv_*` as [conv](conv.md); FactorVAE adds "
                   "its discriminator (counted above) and its own Adam."), "",
              "## Where each number comes from", ""]
    sources = {}
    for name in zoo.OBJECTIVE_NAMES:
        sources.setdefault(zoo.entry(name).sources["model_options"], []).append(f"`{name}`")
    lines += [f"- {', '.join(names)}: {source}" for source, names in sources.items()]
    lines += ["", "## Short scored runs", "",
              ("No reference run: each entry's short run (5 epochs on a tenth of the shapes "
               "training split, scored by the shapes metrics) is in BENCHMARKS.md, by:"), "",
              "```"] + [short_run_command(name) for name in zoo.OBJECTIVE_NAMES] + ["```"]
    return "\n".join(lines) + "\n"

