"""The end-to-end pipeline: spikes -> quality control -> bins -> splits -> LeJEPA teacher ->
Dale-constrained spiking student distilled to the teacher's latents -> report.

Example:
    >>> from synaptax import pipeline
    >>> cfg = pipeline.load_config("examples/pipeline.toml")   # or load_config(None, quick=True)
    >>> res = pipeline.run_pipeline(cfg, "pipeline_output")
    >>> res.metrics["student"]["cca_heldout"], res.report

From the shell: ``synaptax pipeline run CONFIG.toml --out DIR`` (``--quick`` for a small
run on the embedded synthetic session).
"""

from ._config import DataConfig as DataConfig
from ._config import PipelineConfig as PipelineConfig
from ._config import ReportConfig as ReportConfig
from ._config import StudentConfig as StudentConfig
from ._config import config_from_dict as config_from_dict
from ._config import load_config as load_config
from ._config import quick_config as quick_config
from ._inputs import session_inputs as session_inputs
from ._run import PipelineResult as PipelineResult
from ._run import run_pipeline as run_pipeline
