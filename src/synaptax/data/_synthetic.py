"""Synthetic sessions with ground truth, in the Allen Visual Behavior layout.

A ``d``-dimensional latent state follows a nonlinear stochastic system driven by the
images and by image-change events,

    tau dx/dt = -x + g_s J tanh(x) + h_s (B e(t) + c k(t)) + sigma sqrt(tau) xi(t),

where ``e(t)`` is the embedding of the image on screen (zero between flashes and on
omissions), ``k(t)`` an exponential pulse (150 ms) after each image change, and the
recurrent gain ``g_s`` and input gain ``h_s`` depend on the brain state ``s``
(active task engagement vs passive replay / spontaneous). Unit ``n`` fires as a Poisson
process with rate ``exp(b_n + C_n . x)`` Hz (baseline rates log-normal, median about
4 Hz, 0.5-60 Hz), with a 2 ms absolute refractory period, or (``spiking="glm"``) as a
Poisson GLM at 1 ms with a post-spike history filter on the log rate. A fraction of
units are made bad on purpose so that quality control can be checked: contaminated (a
second, non-refractory neuron mixed in, plus double detections: high ISI violations),
drifting out (silent after part of the session: low presence ratio) or small (a large
part of the amplitude distribution below the detection threshold: high amplitude
cutoff, given analytically).

Session timeline (like VBN): an active change-detection block (flashes of 250 ms every
750 ms, changes every 4-11 flashes, 5% omissions), a spontaneous grey-screen block, then
a passive replay of the same image sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from jaxtyping import Float
from scipy.special import ndtr

from ._errors import SpikeDataError
from ._nwb import read_nwb, write_nwb
from ._quality import isi_violations, presence_ratio
from ._session import ArraySpikeTrains, Epochs, Session, TimeSeries
from ._table import Table
from ._types import Real

__all__ = [
    "SyntheticTruth",
    "make_synthetic_session",
    "read_synthetic",
    "truth_path",
    "write_synthetic",
]

_FLASH_ON, _FLASH_PERIOD = 0.25, 0.75
_STRUCTURES = np.array(["VISp", "VISl", "VISal", "VISrl", "VISam", "VISpm", "LGd", "CA1"])


@dataclass(frozen=True)
class SyntheticTruth:
    """Ground truth of a synthetic session.

    Attributes:
        times: ``[step]`` times of the latent samples, seconds (step ``dt``).
        latents: ``[step, dim]`` latent state ``x``.
        state: ``[step]`` brain state of each step (0 active, 1 passive, 2 spontaneous).
        loadings: ``[unit, dim]`` ``C``; rate = ``exp(baseline + C x)``.
        baseline: ``[unit]`` ``b`` (log Hz).
        good: ``[unit]`` True for units that should pass quality control.
        bad_kind: ``[unit]`` "", "contaminated", "drift" or "small".
        recurrent: ``[dim, dim]`` ``J``; ``image_input`` ``[image, dim]``; ``change_input``
            ``[dim]``; ``gains`` ``[state, 2]`` (g, h) per state.
    """

    times: np.ndarray
    latents: np.ndarray
    state: np.ndarray
    loadings: np.ndarray
    baseline: np.ndarray
    good: np.ndarray
    bad_kind: np.ndarray
    recurrent: np.ndarray
    image_input: np.ndarray
    change_input: np.ndarray
    gains: np.ndarray

    STATE_NAMES = ("active", "passive", "spontaneous")

    def rates(self, units: np.ndarray | None = None) -> Float[np.ndarray, "step unit"]:
        """True firing rates (Hz) at the latent steps (before bad-unit corruption)."""
        sel = slice(None) if units is None else units
        return np.exp(self.baseline[sel] + self.latents @ self.loadings[sel].T)

    def latents_in_bins(
        self, bin_starts: Float[np.ndarray, " time"], bin_width: Real
    ) -> Float[np.ndarray, "time dim"]:
        """Mean latent state over each bin ``[start, start + bin_width)`` (seconds), to
        compare with binned spikes (e.g. ``binned.bin_starts``, ``binned.bin_width``).
        Bin edges are rounded to the latent step."""
        dt = float(self.times[1] - self.times[0])
        cum = np.vstack([np.zeros((1, self.latents.shape[1])), np.cumsum(self.latents, 0)])
        first = np.clip(np.round(bin_starts / dt).astype(np.int64), 0, len(self.times))
        last = np.clip(first + max(1, round(float(bin_width) / dt)), 0, len(self.times))
        n = np.maximum(last - first, 1)[:, None]
        return (cum[last] - cum[first]) / n


def _image_schedule(
    rng: np.random.Generator, t0: Real, n_flash: int, n_images: int, p_omit: Real
) -> dict[str, np.ndarray]:
    images = np.empty(n_flash, dtype=np.int64)
    is_change = np.zeros(n_flash, bool)
    current = int(rng.integers(n_images))
    k = 0
    while k < n_flash:
        run = int(rng.integers(4, 12))
        images[k : k + run] = current
        k += run
        if k < n_flash:
            current = int((current + rng.integers(1, n_images)) % n_images)
            is_change[k] = True
    omitted = (rng.random(n_flash) < p_omit) & ~is_change
    omitted[0] = False
    start = t0 + _FLASH_PERIOD * np.arange(n_flash)
    return {"start": start, "images": images, "is_change": is_change, "omitted": omitted}


def make_synthetic_session(
    n_units: int = 200,
    latent_dim: int = 4,
    active_s: Real = 300.0,
    spontaneous_s: Real = 60.0,
    passive_s: Real = 300.0,
    n_images: int = 8,
    bad_fraction: Real = 0.2,
    refractory_s: Real = 0.002,
    dt: Real = 0.005,
    seed: int = 0,
    spiking: str = "poisson",
) -> tuple[Session, SyntheticTruth]:
    """Simulate a session with known latents (see the module docstring for the model).

    Args:
        n_units: number of units (hundreds are realistic).
        latent_dim: dimension ``d`` of the latent state.
        active_s, spontaneous_s, passive_s: block durations, seconds.
        n_images: number of distinct images.
        bad_fraction: fraction of units corrupted on purpose (split between the three
            kinds of badness); QC should reject them.
        refractory_s: absolute refractory period of good units, seconds.
        dt: latent integration step, seconds.
        seed: random seed; the same seed gives the same session.
        spiking: ``"poisson"`` (inhomogeneous Poisson with an absolute refractory
            period) or ``"glm"`` (a Poisson GLM at 1 ms with a post-spike history filter
            ``-3 exp(-tau / 10 ms)`` on the log rate: relative refractoriness and mild
            adaptation, plus the absolute refractory period; slower, about 10 us per
            simulated ms).

    Returns:
        ``(session, truth)``.

    Example:
        >>> session, truth = make_synthetic_session(n_units=100, seed=1)
        >>> write_synthetic("demo.nwb", session, truth)
    """
    if n_units < 1 or latent_dim < 1 or min(active_s, passive_s) < 10 * _FLASH_PERIOD:
        raise SpikeDataError(
            None,
            "need n_units >= 1, latent_dim >= 1 and active/passive "
            f"blocks of at least {10 * _FLASH_PERIOD} s.",
        )
    if spiking not in ("poisson", "glm"):
        raise SpikeDataError(None, f"spiking must be 'poisson' or 'glm', got {spiking!r}.")
    if not 0 <= bad_fraction <= 1:
        raise SpikeDataError(None, f"bad_fraction must be in [0, 1], got {bad_fraction}.")
    rng = np.random.default_rng(seed)
    d = latent_dim
    active_s, spontaneous_s, passive_s = float(active_s), float(spontaneous_s), float(passive_s)
    dt = float(dt)

    # --- stimulus timeline -----------------------------------------------------------
    n_act = int(active_s // _FLASH_PERIOD)
    sched = _image_schedule(rng, 0.0, n_act, n_images, 0.05)
    act_stop = sched["start"][-1] + _FLASH_ON
    spont_start = n_act * _FLASH_PERIOD
    spont_stop = spont_start + spontaneous_s
    pas_t0 = spont_stop
    n_pas = int(passive_s // _FLASH_PERIOD)
    reps = int(np.ceil(n_pas / n_act))
    pas = {k: np.tile(v, reps)[:n_pas] for k, v in sched.items() if k != "start"}
    pas["start"] = pas_t0 + _FLASH_PERIOD * np.arange(n_pas)
    pas["is_change"][0] = False
    t_stop = float(pas["start"][-1] + _FLASH_ON)
    image_names = np.array([f"im{i:03d}" for i in range(n_images)], dtype=object)

    def _rows(s: dict, block: int, active: bool) -> dict[str, np.ndarray]:
        name = np.where(s["omitted"], "omitted", image_names[s["images"]]).astype(object)
        n = len(s["start"])
        return {
            "start_time": s["start"],
            "stop_time": s["start"] + _FLASH_ON,
            "stimulus_block": np.full(n, block, np.int64),
            "stimulus_name": np.full(n, "Natural_Images_Lum_Matched_set_G", dtype=object),
            "active": np.full(n, active),
            "image_name": name,
            "is_change": s["is_change"].copy(),
            "omitted": s["omitted"].copy(),
        }

    act_rows, pas_rows = _rows(sched, 0, True), _rows(pas, 2, False)
    spont_rows = {
        "start_time": np.array([spont_start]),
        "stop_time": np.array([spont_stop]),
        "stimulus_block": np.array([1]),
        "stimulus_name": np.array(["spontaneous"], object),
        "active": np.array([False]),
        "image_name": np.array([""], object),
        "is_change": np.array([False]),
        "omitted": np.array([False]),
    }
    stimulus = Table(
        {k: np.concatenate([act_rows[k], spont_rows[k], pas_rows[k]]) for k in act_rows}
    )
    epochs = Epochs(
        np.array([0.0, spont_start, pas_t0]),
        np.array([act_stop, spont_stop, t_stop]),
        np.array(["active", "spontaneous", "passive"], dtype=object),
    )

    # --- latent dynamics ---------------------------------------------------------------
    n_steps = int(np.ceil(t_stop / dt))
    times = dt * np.arange(n_steps)
    state = np.full(n_steps, 2, np.int8)
    state[times < spont_start] = 0
    state[times >= pas_t0] = 1
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    skew = rng.normal(size=(d, d))
    recurrent = 1.1 * q + 0.6 * (skew - skew.T) / np.sqrt(d)
    image_input = rng.normal(0, 1.2, size=(n_images, d))
    change_input = rng.normal(0, 1.0, size=d)
    change_input *= 2.5 / np.linalg.norm(change_input)
    gains = np.array([[1.4, 1.0], [0.7, 0.5], [0.7, 0.0]])  # (g, h): active, passive, spont.
    drive = np.zeros((n_steps, d))
    pulse = np.zeros(n_steps)
    for rows, h_state in ((act_rows, 0), (pas_rows, 1)):
        for t0, name, change in zip(
            rows["start_time"], rows["image_name"], rows["is_change"], strict=True
        ):
            i0, i1 = round(t0 / dt), round((t0 + _FLASH_ON) / dt)
            if name != "omitted":
                drive[i0:i1] += image_input[int(name[2:])]
            if change:
                k = np.arange(min(n_steps - i0, int(1.0 / dt)))
                pulse[i0 : i0 + len(k)] += np.exp(-k * dt / 0.15)
        del h_state
    tau, sigma = 0.1, 0.4
    noise = rng.normal(size=(n_steps, d)) * sigma * np.sqrt(dt / tau)
    g = gains[state, 0]
    h = gains[state, 1]
    x = np.zeros(d)
    latents = np.empty((n_steps, d))
    a = dt / tau
    for i in range(n_steps):
        inp = h[i] * (drive[i] + pulse[i] * change_input)
        x = x + a * (-x + g[i] * (recurrent @ np.tanh(x)) + inp) + noise[i]
        latents[i] = x
    latents -= latents.mean(axis=0)
    latents /= latents.std(axis=0) + 1e-12

    # --- units ---------------------------------------------------------------------------
    base_rate = np.clip(rng.lognormal(np.log(4.0), 0.9, n_units), 0.5, 60.0)
    loadings = rng.normal(0, 0.8 / np.sqrt(d), size=(n_units, d))
    # exp(b + C x) with x ~ N(0, I) has mean exp(b + |C|^2/2); centre so the mean is base.
    baseline = np.log(base_rate) - 0.5 * np.sum(loadings**2, axis=1)
    n_bad = round(bad_fraction * n_units)
    bad_kind = np.full(n_units, "", dtype=object)
    bad_idx = rng.choice(n_units, size=n_bad, replace=False)
    bad_kind[bad_idx] = np.array(["contaminated", "drift", "small"], dtype=object)[
        np.arange(n_bad) % 3
    ]
    trains = []
    glm = (
        _glm_trains(rng, latents, baseline, loadings, dt, float(refractory_s))
        if spiking == "glm"
        else None
    )
    for u in range(n_units):
        if glm is None:
            lam = np.exp(baseline[u] + latents @ loadings[u])
            t = _apply_refractory(_poisson_times(rng, lam, dt), refractory_s)
        else:
            t = glm[u]
        if bad_kind[u] == "contaminated":
            # A second, non-refractory neuron plus double-detected spikes (0.2-1.2 ms).
            extra = rng.uniform(0, t_stop, rng.poisson(base_rate[u] * t_stop + 20))
            dup = rng.choice(t, size=max(int(0.1 * t.size), 10)) + rng.uniform(
                2e-4, 1.2e-3, max(int(0.1 * t.size), 10)
            )
            t = np.sort(np.concatenate([t, extra, dup]))
        elif bad_kind[u] == "drift":
            t = t[t < rng.uniform(0.3, 0.75) * t_stop]
        trains.append(t[(t >= 0) & (t <= t_stop)])
    spikes = ArraySpikeTrains.from_list(trains, source="<synthetic>")

    # Amplitudes ~ N(m, s) cut at a detection threshold z sd below the mean: the missed
    # mass is Phi(-z); amplitude_cutoff reports it relative to the detected spikes.
    amp_z = np.where(
        bad_kind == "small", rng.uniform(-0.2, 1.0, n_units), rng.uniform(2.0, 4.0, n_units)
    )
    missed = ndtr(-amp_z)
    cutoff = np.minimum(missed / (1 - missed), 0.5)
    counts = spikes.counts
    units = Table(
        {
            "unit_id": np.arange(1000, 1000 + n_units, dtype=np.int64),
            "isi_violations": np.array([isi_violations(t, t_stop) for t in trains]),
            "amplitude_cutoff": cutoff,
            "presence_ratio": np.array([presence_ratio(t, 0.0, t_stop) for t in trains]),
            "snr": np.where(bad_kind == "small", 1.0, 3.0) + rng.gamma(2.0, 0.5, n_units),
            "firing_rate": counts / t_stop,
            "quality": np.full(n_units, "good", dtype=object),
            "structure_acronym": _STRUCTURES[rng.integers(len(_STRUCTURES), size=n_units)].astype(
                object
            ),
        }
    )

    # --- trials and behaviour ------------------------------------------------------------
    change_times = act_rows["start_time"][act_rows["is_change"]]
    hit = rng.random(len(change_times)) < 0.7
    latency = np.where(hit, rng.uniform(0.3, 0.6, len(change_times)), np.nan)
    trial_start = np.concatenate([[0.0], change_times[:-1] + _FLASH_PERIOD])
    trial_stop = np.minimum(change_times + _FLASH_PERIOD, act_stop)
    ok = trial_stop > trial_start
    pre = act_rows["image_name"][np.flatnonzero(act_rows["is_change"]) - 1]
    trials = Table(
        {
            "start_time": trial_start[ok],
            "stop_time": trial_stop[ok],
            "change_time": change_times[ok],
            "initial_image_name": pre[ok],
            "change_image_name": act_rows["image_name"][act_rows["is_change"]][ok],
            "hit": hit[ok],
            "response_latency": latency[ok],
        }
    )
    lick_times = np.sort(
        np.concatenate(
            [
                (change_times + latency)[hit],
                rng.uniform(0, act_stop, rng.poisson(0.05 * act_stop)),
            ]
        )
    )
    behaviour = {
        "running_speed": _ou_series(
            rng, t_stop, 60.0, np.where(state == 0, 20.0, 8.0), dt, 8.0, "cm/s"
        ),
        "pupil_area": _ou_series(
            rng, t_stop, 30.0, np.where(state == 0, 1500.0, 900.0), dt, 150.0, "pixels^2"
        ),
        "licks": TimeSeries(lick_times, np.ones(len(lick_times)), "lick"),
    }
    session = Session(
        spikes=spikes,
        units=units,
        epochs=epochs,
        t_start=0.0,
        t_stop=t_stop,
        stimulus=stimulus,
        trials=trials,
        behaviour=behaviour,
        source="<synthetic>",
    )
    truth = SyntheticTruth(
        times,
        latents,
        state,
        loadings,
        baseline,
        bad_kind == "",
        bad_kind,
        recurrent,
        image_input,
        change_input,
        gains,
    )
    return session, truth


def _poisson_times(rng: np.random.Generator, lam: np.ndarray, dt: Real) -> np.ndarray:
    counts = rng.poisson(lam * dt)
    steps = np.repeat(np.arange(len(lam)), counts)
    return np.sort((steps + rng.random(len(steps))) * dt)


def _glm_trains(
    rng: np.random.Generator,
    latents: np.ndarray,
    baseline: np.ndarray,
    loadings: np.ndarray,
    dt_latent: float,
    refractory: float,
    step: float = 0.001,
    history_amp: float = -3.0,
    history_tau: float = 0.010,
) -> list[np.ndarray]:
    """Discrete-time Poisson GLM: ``log rate = b + C x + a h(t)`` with ``h`` the
    exponentially filtered own spike train (``a < 0``: relative refractoriness), spikes
    drawn per ``step`` (s) with probability ``1 - exp(-rate step)``, and an absolute
    refractory period. Spike times are the step starts plus half a step."""
    n_units = len(baseline)
    per = max(1, round(dt_latent / step))
    decay = np.exp(-step / history_tau)
    trace = np.zeros(n_units)
    last = np.full(n_units, -np.inf)
    steps_out, units_out = [], []
    drive_all = baseline + latents @ loadings.T  # [latent step, unit]
    k = 0
    for i in range(len(latents)):
        u_draws = rng.random((per, n_units))
        for j in range(per):
            t = k * step
            lam = np.exp(drive_all[i] + history_amp * trace)
            fire = u_draws[j] < -np.expm1(-lam * step)
            fire &= t - last >= refractory - 1e-12
            trace *= decay
            if fire.any():
                idx = np.flatnonzero(fire)
                trace[idx] += 1.0
                last[idx] = t
                steps_out.append(np.full(idx.size, k))
                units_out.append(idx)
            k += 1
    if not steps_out:
        return [np.zeros(0) for _ in range(n_units)]
    s_all = np.concatenate(steps_out)
    u_all = np.concatenate(units_out)
    order = np.lexsort((s_all, u_all))
    s_all, u_all = s_all[order], u_all[order]
    bounds = np.searchsorted(u_all, np.arange(n_units + 1))
    times = (s_all + 0.5) * step
    return [times[bounds[n] : bounds[n + 1]] for n in range(n_units)]


def _apply_refractory(t: np.ndarray, refractory: Real) -> np.ndarray:
    """Drop spikes closer than ``refractory`` (s) to the previous kept spike."""
    while t.size > 1:
        short = np.diff(t) < refractory
        if not short.any():
            break
        # Drop the second spike of every violating pair whose first spike is itself kept
        # (the first of a run); later spikes of a run are re-examined next pass.
        first_of_run = short & ~np.concatenate([[False], short[:-1]])
        drop = np.concatenate([[False], first_of_run])
        t = t[~drop]
    return t


def _ou_series(
    rng: np.random.Generator,
    t_stop: Real,
    rate_hz: Real,
    mean_by_step: np.ndarray,
    dt: Real,
    sd: Real,
    unit: str,
) -> TimeSeries:
    ts = np.arange(0.0, t_stop, 1.0 / rate_hz)
    mean = mean_by_step[np.minimum((ts / dt).astype(np.int64), len(mean_by_step) - 1)]
    tau, step = 2.0, 1.0 / rate_hz
    x = np.empty(len(ts))
    v = 0.0
    for i, e in enumerate(rng.normal(size=len(ts))):
        v += -v * step / tau + sd * np.sqrt(2 * step / tau) * e
        x[i] = v
    return TimeSeries(ts, np.maximum(mean + x, 0.0), unit)


def truth_path(nwb_path: str | Path) -> Path:
    """Where the ground truth of a synthetic NWB file lives: ``<name>.truth.npz``."""
    p = Path(nwb_path)
    return p.with_name(p.stem + ".truth.npz")


def write_synthetic(path: str | Path, session: Session, truth: SyntheticTruth) -> Path:
    """Write the session to NWB (Allen layout) and the true latents beside it."""
    path = write_nwb(session, path, description="synaptax synthetic session")
    tp = truth_path(path)
    tmp = tp.with_name("." + tp.name + ".tmp.npz")
    arrays = {
        k: np.asarray(getattr(truth, k), dtype=str if k == "bad_kind" else None)
        for k in truth.__dataclass_fields__
    }
    np.savez(
        tmp,
        **arrays,  # pyright: ignore[reportArgumentType]
    )
    tmp.replace(tp)
    return path


def read_synthetic(path: str | Path) -> tuple[Session, SyntheticTruth]:
    """Read a synthetic session (NWB) and its ground truth (``<name>.truth.npz``)."""
    session = read_nwb(path)
    tp = truth_path(path)
    if not tp.exists():
        raise SpikeDataError(
            tp,
            "ground-truth file not found beside the NWB file.",
            "write the session with write_synthetic().",
        )
    with np.load(tp, allow_pickle=False) as z:
        fields = {k: z[k] for k in SyntheticTruth.__dataclass_fields__}
    fields["bad_kind"] = fields["bad_kind"].astype(object)
    return session, SyntheticTruth(**fields)
