"""Reports of a results directory: the paper's figures, tables, reconstructions, traversals.

`write_report(results_dir)` reads the records, config.json and saved models of a sweep and
writes, under `<results_dir>/report/`: `figure1.png` (disentanglement against beta, per
shapes zoo entry), `figure2.png` (SVM accuracy on MNIST codes against beta, per training
fraction), `shapes.csv` / `mnist.csv` (every number of every record), `shapes_summary.csv` /
`mnist_summary.csv` (mean and std over seeds), `reconstructions-<trial>.png`,
`traversals-<trial>.png` and `report.md`, which embeds them and says what was run.

Example:
    >>> from bvae_tf.reports import write_report
    >>> write_report("runs/quick")  # doctest: +SKIP
    PosixPath('runs/quick/report/report.md')

References:
    Peychev, Velickovic and Lio (2017), Figures 1 and 2; Higgins et al. (2017), latent
    traversals.
"""

from bvae_tf.reports.figures import figure1, figure2
from bvae_tf.reports.report import write_report
from bvae_tf.reports.tables import markdown_table, summarize

__all__ = ["figure1", "figure2", "markdown_table", "summarize", "write_report"]
