"""zipkit inside other tools' pipelines: :mod:`zipkit.adapters.datatrove`."""
