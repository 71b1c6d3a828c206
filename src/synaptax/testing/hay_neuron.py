"""The Hay et al. (2011) L5PC in NEURON, built independently of synaptax's builder.

NEURON's own Import3d reads the reconstruction, and the steps of the original
``L5PCtemplate.hoc`` are replayed with NEURON's ``distance()``: ``nseg = 1 + 2 int(L/40)``,
the axon replaced by two 30 x 1 um sections, mechanisms and densities per section list,
then the distributions with the template's origins (``soma distance()`` for the
distance, the section list's first section for its longest branch). Channels are the
NMODL twins in ``tests/nmodl`` (suffix ``sx_``), compiled by
:func:`synaptax.testing.neuron_ref.load_mechanisms`.

Used by the L5PC tests and ``benchmarks/l5pc.py``; needs the ``neuron`` package.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from synaptax.testing.neuron_ref import load_mechanisms as load_mechanisms

PREFIX = "sx_"
_LISTS = {"somatic", "apical", "basal", "axonal", "all", "apic", "dend", "soma", "axon"}


def _rule(dist_type: int, x: float, a: float, b: float, c: float, d: float, base: float):
    """The template's ``calculate_distribution``."""
    if dist_type == 3:
        value = a if c <= x <= d else b
    elif dist_type == 0:
        value = a + x * b
    elif dist_type == 1:
        value = a + b / (1.0 + math.exp((x - c) / d))
    elif dist_type == 2:
        value = a + d * math.exp(b * (x - c))
    else:
        raise ValueError(f"unknown dist_type {dist_type}")
    return value * base


class NeuronL5PC:
    """The model's sections in NEURON. Call :meth:`delete` when done: NEURON simulates
    every section that exists in the process."""

    def __init__(self, h, morphology: str | Path, parameters: str | Path, model: str):
        h.load_file("import3d.hoc")
        self.h = h
        reader = h.Import3d_Neurolucida3()
        reader.quiet = 1
        reader.input(str(morphology))
        h.Import3d_GUI(reader, 0).instantiate(None)
        self.soma = h.soma[0]
        for sec in h.allsec():
            sec.nseg = 1 + 2 * int(sec.L / 40.0)
        for sec in list(h.axon):
            h.delete_section(sec=sec)
        self.axon = [h.Section(name=f"hay_axon{i}") for i in range(2)]
        for sec in self.axon:
            sec.L, sec.diam = 30.0, 1.0
            sec.nseg = 1 + 2 * int(sec.L / 40.0)
        self.axon[0].connect(self.soma(0.5), 0)
        self.axon[1].connect(self.axon[0](1), 0)
        self.lists = {
            "all": [self.soma, *h.dend, *h.apic, *self.axon],
            "somatic": [self.soma],
            "soma": [self.soma],
            "basal": list(h.dend),
            "dend": list(h.dend),
            "apical": list(h.apic),
            "apic": list(h.apic),
            "axonal": self.axon,
            "axon": self.axon,
        }
        spec = json.loads(Path(parameters).read_text())["models"][model]
        for name, entry in spec["sections"].items():
            for sec in self.lists[name]:
                for mech in entry["insert"]:
                    sec.insert(mech if mech == "pas" else PREFIX + mech)
                for p, value in entry["params"].items():
                    setattr(sec, self._range_name(p), value)
        for dist in spec["distributions"]:
            self._distribute(dist["seclist"], dist["param"], dist["dist_type"], *dist["args"])

    @staticmethod
    def _range_name(param: str) -> str:
        """NEURON's RANGE name of a parameter-file name for our ``sx_`` twins."""
        if param in ("cm", "Ra", "ek", "ena", "g_pas", "e_pas"):
            return param
        # 'g<mech>bar_<mech>' is the twin's 'gbar'; any other '<name>_<mech>' keeps its name
        for split in (i for i, c in enumerate(param) if c == "_"):
            p, m = param[:split], param[split + 1 :]
            if p == f"g{m}bar":
                return f"gbar_{PREFIX}{m}"
        p, _, m = param.partition("_")
        return f"{p}_{PREFIX}{m}"

    def _distribute(self, seclist: str, param: str, dist_type: int, a, b, c, d, base) -> None:
        h = self.h
        secs = self.lists[seclist]
        # the template's getLongestBranch: origin at the list's first section's 0-end
        h.distance(0, secs[0](0))
        max_len = max(h.distance(s(1)) for s in secs if len(s.children()) == 0)
        h.distance(0, self.soma(0))  # "soma distance()"
        name = self._range_name(param)
        for sec in secs:
            for seg in sec:
                x = h.distance(seg)
                if dist_type != 3:
                    x = x / max_len
                setattr(seg, name, _rule(dist_type, x, a, b, c, d, base))

    def apical_site(self, distance: float):
        """The apical segment on the thickest branch at ``distance`` um from soma(0.5)."""
        h = self.h
        h.distance(0, self.soma(0.5))
        best = None
        for sec in self.lists["apical"]:
            d0, d1 = h.distance(sec(0)), h.distance(sec(1))
            if d0 <= distance <= d1:
                seg = sec((distance - d0) / (d1 - d0))
                if best is None or seg.diam > best.diam:
                    best = seg
        if best is None:
            raise ValueError(f"no apical section reaches {distance} um")
        return best

    def run(
        self,
        t_max: float,
        dt: float,
        *,
        iclamps: Sequence[tuple[object, float, float, float]] = (),
        waveforms: Sequence[tuple[object, np.ndarray]] = (),
        record: Sequence[object] = (),
        celsius: float = 34.0,
        v_init: float = -80.0,
    ) -> tuple[np.ndarray, float]:
        """Fixed-step backward Euler. ``iclamps``: ``(segment, amp nA, delay, dur)``;
        ``waveforms``: ``(segment, nA per step)`` played as a step function (the value
        of step k during ``[k dt, (k + 1) dt)``); ``record``: segments. Returns the
        voltages ``[site, time]`` and the run time in seconds."""
        import time

        h = self.h
        keep = []
        for seg, amp, delay, dur in iclamps:
            ic = h.IClamp(seg)
            ic.amp, ic.delay, ic.dur = amp, delay, dur
            keep.append(ic)
        for seg, wave in waveforms:
            ic = h.IClamp(seg)
            ic.delay, ic.dur = 0.0, 1e9
            vec = h.Vector(np.concatenate([wave, [0.0]]))
            vec.play(ic._ref_amp, dt)
            keep += [ic, vec]
        recs = [h.Vector().record(seg._ref_v) for seg in record]  # type: ignore[attr-defined]
        h.cvode_active(0)
        h.dt, h.steps_per_ms, h.secondorder, h.celsius = dt, 1.0 / dt, 0, celsius
        h.finitialize(v_init)
        start = time.perf_counter()
        h.continuerun(t_max)
        elapsed = time.perf_counter() - start
        out = np.array([np.asarray(r) for r in recs])
        del keep
        return out, elapsed

    def delete(self) -> None:
        for sec in list(self.h.allsec()):
            self.h.delete_section(sec=sec)
        self.lists = {}
