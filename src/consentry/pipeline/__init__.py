"""Steps for outside pipeline frameworks, over the application layer: the gate as a
datatrove step (``consentry.pipeline.datatrove``, with the ``datatrove`` extra). Each
module imports its framework, so this package imports none."""

__all__: list[str] = []
