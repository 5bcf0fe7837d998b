"""The baselines that compression-based selection is compared with: random, length, DSIR
(and, with the ``models`` extra, cluster, perplexity and IFD)."""
