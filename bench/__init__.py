"""The performance benchmark (see ``bench.run``)."""
