"""Settings of the pipeline: dataclasses read from a TOML file.

A config has four sections, every one and every key optional (the defaults are the
values below; ``--quick`` starts from :func:`quick_config` instead)::

    [data]
    source = "synthetic"           # or a path to an NWB file (Allen VBN layout) or any
                                   #   session synaptax.data.load_session reads
    n_units = 200                  # synthetic only: n_units, latent_dim, active_s,
    latent_dim = 4                 #   spontaneous_s, passive_s, seed
    qc = true                      # keep the units that pass the Allen quality criteria
    bin_ms = 10.0
    epochs = ["active", "passive"] # brain states (epoch names) to bin
    fractions = [0.7, 0.15, 0.15]  # train / validation / test
    block_s = 10.0                 # contiguous blocks dealt to the splits
    gap_s = 0.5
    inputs = ["images", "change", "omitted", "running_speed", "pupil_area", "state"]

    [teacher]                      # any synaptax.jepa.TeacherConfig field, and
    latent_dim = 6                 #   refine_em_iter (pipeline only, default 0): > 0
    n_steps = 300                  #   distils the student to the refined latents
                                   #   (jepa.refined_latents; needs obs_poisson = true)

    [student]                      # see StudentConfig
    n_neurons = 256
    n_steps = 300

    [report]
    raster_s = 5.0
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DataConfig",
    "PipelineConfig",
    "ReportConfig",
    "StudentConfig",
    "load_config",
    "quick_config",
]

INPUT_KINDS = ("images", "change", "omitted", "running_speed", "pupil_area", "state")


@dataclass(frozen=True)
class DataConfig:
    """Where the spikes come from and how they are cut.

    Attributes:
        source: ``"synthetic"`` (the embedded synthetic session,
            :func:`synaptax.data.make_synthetic_session`) or a path to a session file.
        n_units, latent_dim, active_s, spontaneous_s, passive_s, seed: synthetic session
            settings (seconds for the block durations).
        qc: keep only the units that pass the Allen quality criteria.
        bin_ms: bin width (ms).
        epochs: epoch names (brain states) to bin; figures are drawn per state.
        fractions: train / validation / test shares of the contiguous blocks.
        block_s, gap_s: block length and guard gap (s), see
            :func:`synaptax.data.contiguous_splits`.
        split_seed: seed dealing blocks to the splits.
        inputs: the student's input features, a subset of ``images`` (one channel per image,
            1 while it is on screen), ``change`` (100 ms after an image change),
            ``omitted`` (an omitted flash), ``running_speed`` and ``pupil_area``
            (behaviour, interpolated at bin centres) and ``state`` (1 in the first epoch
            of ``epochs``, e.g. task engagement). Features absent from a session are left
            out (and reported).
    """

    source: str = "synthetic"
    n_units: int = 200
    latent_dim: int = 4
    active_s: float = 300.0
    spontaneous_s: float = 60.0
    passive_s: float = 300.0
    seed: int = 0
    qc: bool = True
    bin_ms: float = 10.0
    epochs: tuple[str, ...] = ("active", "passive")
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    block_s: float = 10.0
    gap_s: float = 0.5
    split_seed: int = 0
    inputs: tuple[str, ...] = INPUT_KINDS


@dataclass(frozen=True)
class StudentConfig:
    """The spiking student (:class:`synaptax.distill.SpikingStudent`) and its training.

    Attributes:
        n_neurons: recurrent LIF neurons.
        frac_excitatory: share of excitatory neurons (Dale's principle; 0.8).
        p_connect: recurrent connection probability.
        dt_ms: neuron time step (ms); the bin must be a whole number of steps.
        tau_mem: membrane time constant (ms).
        tau_filter: readout filter time constant (ms).
        surrogate_slope: fast-sigmoid surrogate slope.
        in_gain, rec_gain: initial input and recurrent weight scales.
        n_steps, batch, window, burn_in, lr, rate_weight, rate_band: training settings,
            see :class:`synaptax.distill.DistillConfig`.
        seed: initialisation and window sampling.
    """

    n_neurons: int = 256
    frac_excitatory: float = 0.8
    p_connect: float = 1.0
    dt_ms: float = 10.0
    tau_mem: float = 20.0
    tau_filter: float = 300.0
    surrogate_slope: float = 25.0
    in_gain: float = 0.1
    rec_gain: float = 1.0
    n_steps: int = 300
    batch: int = 16
    window: int = 200
    burn_in: int = 20
    lr: float = 3e-3
    rate_weight: float = 20.0
    rate_band: tuple[float, float] = (7.0, 17.0)
    seed: int = 1


@dataclass(frozen=True)
class ReportConfig:
    """Figures.

    Attributes:
        raster_s: seconds of held-out time shown in rasters and latent traces.
        max_neurons: at most this many neurons per population in a raster.
        dpi: resolution of the PNGs.
    """

    raster_s: float = 5.0
    max_neurons: int = 200
    dpi: int = 100


@dataclass(frozen=True)
class PipelineConfig:
    """All settings: ``data``, ``teacher`` (a dict of
    :class:`synaptax.jepa.TeacherConfig` fields), ``student`` and ``report``."""

    data: DataConfig = DataConfig()
    teacher: dict[str, Any] = field(
        default_factory=lambda: {"latent_dim": 6, "n_steps": 300, "batch": 64}
    )
    student: StudentConfig = StudentConfig()
    report: ReportConfig = ReportConfig()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def quick_config() -> PipelineConfig:
    """A small configuration for ``make demo`` and ``--quick``: a 5-minute synthetic
    session (150 units), a 400-step teacher and a 256-neuron student trained 600 steps
    (about 1.5 minutes on a 2-core CPU)."""
    return PipelineConfig(
        data=DataConfig(n_units=150, active_s=150.0, spontaneous_s=20.0, passive_s=150.0),
        teacher={"latent_dim": 6, "n_steps": 400, "batch": 64},
        student=StudentConfig(n_neurons=256, n_steps=600, batch=16),
    )


REFINE_KEY = "refine_em_iter"


def teacher_settings(teacher: dict[str, Any]):
    """The ``[teacher]`` table as ``(TeacherConfig, refine_em_iter)``: its
    :class:`synaptax.jepa.TeacherConfig` fields and the pipeline's own
    ``refine_em_iter`` (Laplace-EM iterations of :func:`synaptax.jepa.refined_latents`;
    0, the default, keeps the encoder's latents).

    Raises:
        ValueError: ``refine_em_iter`` not a non-negative integer, or > 0 with a teacher
            that has no Poisson read-outs to refine with.
    """
    from synaptax.jepa import TeacherConfig

    fields = dict(teacher)
    em_iter = fields.pop(REFINE_KEY, 0)
    if isinstance(em_iter, bool) or not isinstance(em_iter, int) or em_iter < 0:
        raise ValueError(f"[teacher] {REFINE_KEY} must be a non-negative integer, got {em_iter!r}.")
    tcfg = TeacherConfig.from_dict(fields)  # raises on unknown teacher settings
    if em_iter > 0 and not (tcfg.obs_poisson and tcfg.obs_weight > 0):
        raise ValueError(
            f"[teacher] {REFINE_KEY} = {em_iter} refines the latents in the teacher's "
            "Poisson model, which needs obs_poisson = true and obs_weight > 0 in [teacher]."
        )
    return tcfg, em_iter


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _coerce(section: str, cls, values: dict[str, Any], base):
    known = _fields(cls)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(
            f"unknown key(s) {unknown} in [{section}]; known keys are {sorted(known)}."
        )
    out = {}
    for key, value in values.items():
        default = getattr(base, key)
        if isinstance(default, tuple):
            if not isinstance(value, list | tuple):
                raise ValueError(
                    f"[{section}] {key} must be a list (e.g. {list(default)}), got {value!r}."
                )
            value = tuple(value)
            if len(default) in (2, 3) and all(isinstance(v, float) for v in default):
                if len(value) != len(default):
                    raise ValueError(
                        f"[{section}] {key} must have {len(default)} numbers, got {list(value)}."
                    )
                value = tuple(float(v) for v in value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"[{section}] {key} must be true or false, got {value!r}.")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"[{section}] {key} must be an integer, got {value!r}.")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"[{section}] {key} must be a number, got {value!r}.")
            value = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise ValueError(f"[{section}] {key} must be a string, got {value!r}.")
        out[key] = value
    return dataclasses.replace(base, **out)


def _validate(cfg: PipelineConfig) -> None:
    d, s = cfg.data, cfg.student
    bad = sorted(set(d.inputs) - set(INPUT_KINDS))
    if bad:
        raise ValueError(f"[data] inputs {bad} unknown; choose from {list(INPUT_KINDS)}.")
    if not d.inputs:
        raise ValueError("[data] inputs is empty; the student needs at least one input.")
    if not d.epochs:
        raise ValueError('[data] epochs is empty; name the brain states, e.g. ["active"].')
    checks = [
        (d.bin_ms > 0, "[data] bin_ms must be positive"),
        (d.block_s > 0 and d.gap_s >= 0, "[data] block_s must be > 0 and gap_s >= 0"),
        (s.n_neurons >= 10, "[student] n_neurons must be at least 10"),
        (0 < s.frac_excitatory < 1, "[student] frac_excitatory must be in (0, 1)"),
        (s.n_steps >= 1 and s.batch >= 1, "[student] n_steps and batch must be >= 1"),
        (0 <= s.burn_in < s.window, "[student] need 0 <= burn_in < window"),
        (0 < s.rate_band[0] < s.rate_band[1], "[student] rate_band needs 0 < low < high"),
        (cfg.report.raster_s > 0, "[report] raster_s must be positive"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ValueError(f"{msg}; check the config.")
    if d.block_s * 1000.0 / d.bin_ms <= s.window:
        raise ValueError(
            f"[student] window ({s.window} bins) must be shorter than a split block "
            f"([data] block_s = {d.block_s} s = {d.block_s * 1000 / d.bin_ms:.0f} bins); "
            "raise block_s or shorten the window."
        )
    teacher_settings(cfg.teacher)


def config_from_dict(raw: dict[str, Any], base: PipelineConfig | None = None) -> PipelineConfig:
    """Build a config from a parsed TOML dict, on top of ``base`` (default settings)."""
    base = PipelineConfig() if base is None else base
    unknown = sorted(set(raw) - {"data", "teacher", "student", "report"})
    if unknown:
        raise ValueError(
            f"unknown section(s) {unknown}; the sections are [data], [teacher], [student] "
            "and [report]."
        )
    for name, value in raw.items():
        if not isinstance(value, dict):
            raise ValueError(f"`{name}` must be a [section] table, got {value!r}.")
    teacher = {**base.teacher, **raw.get("teacher", {})}
    cfg = PipelineConfig(
        data=_coerce("data", DataConfig, raw.get("data", {}), base.data),
        teacher=teacher,
        student=_coerce("student", StudentConfig, raw.get("student", {}), base.student),
        report=_coerce("report", ReportConfig, raw.get("report", {}), base.report),
    )
    _validate(cfg)
    return cfg


def load_config(path: str | Path | None, *, quick: bool = False) -> PipelineConfig:
    """Read a TOML config (``None``: defaults), on top of :func:`quick_config` if ``quick``.

    Raises:
        ValueError: missing file, invalid TOML, unknown sections or keys, wrong types.
    """
    base = quick_config() if quick else PipelineConfig()
    if path is None:
        _validate(base)
        return base
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: config file not found.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc}); fix the syntax.") from None
    try:
        return config_from_dict(raw, base)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
