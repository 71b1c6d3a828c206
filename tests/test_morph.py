"""Reading reconstructions: NEURON's Import3d sections and geometry, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_data

from synaptax.morph import MorphologyError, read_swc
from synaptax.morph.geometry import d_lambda_nseg, discretize

JAXLEY = ("morphologies", "jaxley")


def _write(tmp_path, text, name="m.swc"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("name", "n_sections"),
    [
        ("morph_ca1_n120.swc", 156),
        ("morph_ca1_n120_single_point_soma.swc", 154),
        ("morph_allen_485574832.swc", 99),
        ("morph_l5pc_with_axon.swc", 324),
        ("morph_soma_both_ends.swc", 3),
        ("morph_somatic_branchpoint.swc", 4),
    ],
)
def test_section_counts_match_neuron_import3d(name, n_sections):
    # counts read off NEURON 9's Import3d_SWC_read on the same files
    assert read_swc(shared_data(*JAXLEY, name)).n_sections == n_sections


@pytest.mark.neuron
@pytest.mark.parametrize(
    "name",
    [
        "morph_ca1_n120.swc",
        "morph_ca1_n120_single_point_soma.swc",
        "morph_allen_485574832.swc",
        "morph_l5pc_with_axon.swc",
        "morph_variable_radiuses_multi_branch.swc",
        "morph_interrupted_soma.swc",
    ],
)
def test_area_and_ri_match_neuron_import3d(name):
    """Per-segment area() and ri() of NEURON's own Import3d instantiation of the file."""
    from neuron import h

    h.load_file("stdlib.hoc")
    h.load_file("import3d.hoc")
    path = shared_data(*JAXLEY, name)
    reader = h.Import3d_SWC_read()
    reader.input(str(path))
    h.Import3d_GUI(reader, False).instantiate(None)
    secs = list(h.allsec())
    try:
        for s in secs:
            s.nseg, s.Ra = 3, 100.0
        morph = read_swc(path)
        assert len(secs) == morph.n_sections
        d = discretize(morph, 3)
        areas = np.sort([seg.area() for s in secs for seg in s])
        ris = np.sort([seg.ri() for s in secs for seg in s])
        ri = (
            1e-2
            * 100.0
            * (d.r_left + np.where(d.r_prev >= 0, d.r_right[np.maximum(d.r_prev, 0)], 0))
        )
        # NEURON stores 3-D points in single precision: agreement to ~1e-5 relative
        np.testing.assert_allclose(np.sort(d.area[d.is_center]), areas, rtol=2e-5, atol=1e-4)
        np.testing.assert_allclose(np.sort(ri[d.is_center]), ris, rtol=5e-5)
    finally:
        for s in secs:
            h.delete_section(sec=s)


def test_single_point_soma_is_a_sphere(tmp_path):
    p = _write(tmp_path, "1 1 0 0 0 5 -1\n2 3 5 0 0 1 1\n3 3 15 0 0 1 2\n")
    m = read_swc(p)
    soma = m.sections[0]
    assert soma.length == pytest.approx(10.0)
    d = discretize(m, 1)
    assert d.area[d.node_at(0, 0.5)] == pytest.approx(4 * np.pi * 25.0)  # sphere area
    assert m.sections[1].parent_x == 0.5


def test_d_lambda_rule_gives_odd_counts():
    m = read_swc(shared_data(*JAXLEY, "morph_ca1_n120.swc"))
    counts = [d_lambda_nseg(s, ra=100.0) for s in m.sections]
    assert all(c % 2 == 1 for c in counts)
    assert max(counts) > 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1 1 0 0 0 1 -1\n2 3 1 0 0 1 7\n", "parent 7 of sample 2 does not exist"),
        ("1 1 0 0 0 1 -1\n1 3 1 0 0 1 1\n", "duplicate sample id 1"),
        ("1 1 0 0 0 1 -1\n2 3 1 0 0 0 1\n", "is not positive"),
        ("1 1 0 0 0 1 -1\n2 3 1 0 0 -1 1\n", "is not positive"),
        ("1 1 0 0 0 1 -1\n2 -3 1 0 0 1 1\n", "unknown structure type"),
        ("1 1 0 0 0 1 -1\n2 3 1 0 0 1 3\n3 3 2 0 0 1 2\n", "cycle"),
        ("1 1 0 0 0 1 -1\n2 3 1 0 0 1 -1\n", "exactly one root"),
        ("1 1 0 0 0 1\n", "expected 7 columns"),
        ("1 1 0 0 zero 1 -1\n", "non-numeric"),
        ("# units: nanometer\n1 1 0 0 0 1000 -1\n2 3 1000 0 0 1000 1\n", "units='nm'"),
    ],
)
def test_malformed_swc_names_file_and_problem(tmp_path, text, fragment):
    p = _write(tmp_path, text)
    with pytest.raises(MorphologyError, match=r"m\.swc") as err:
        read_swc(p)
    assert fragment in str(err.value)


def test_nm_units_and_min_diam(tmp_path):
    p = _write(
        tmp_path, "# 1 nanometer\n1 1 0 0 0 5000 -1\n2 3 5000 0 0 1000 1\n3 3 15000 0 0 1000 2\n"
    )
    m = read_swc(p, units="nm")
    assert m.sections[0].diam[0] == pytest.approx(10.0)
    retina = read_swc(shared_data(*JAXLEY, "morph_retina_20161028_1.swc"), min_diam=0.5)
    assert all(s.diam.min() >= 0.5 for s in retina.sections)


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such morphology file"):
        read_swc(tmp_path / "nope.swc")


@pytest.mark.neuron
def test_asc_contour_soma_and_areas_match_neuron_import3d():
    """Hay et al. 2011 cell1.asc: NEURON's Import3d_Neurolucida3 vs MorphIO + our soma."""
    from neuron import h

    from synaptax.morph import read_asc

    h.load_file("stdlib.hoc")
    h.load_file("import3d.hoc")
    path = shared_data("morphologies", "hay2011", "cell1.asc")
    reader = h.Import3d_Neurolucida3()
    reader.quiet = 1
    reader.input(str(path))
    h.Import3d_GUI(reader, False).instantiate(None)
    secs = list(h.allsec())
    try:
        morph = read_asc(path)
        assert morph.n_sections == len(secs) == 195
        soma = next(s for s in secs if "soma" in s.name())
        ref = np.array(
            [[soma.x3d(i), soma.y3d(i), soma.z3d(i), soma.diam3d(i)] for i in range(soma.n3d())]
        )
        np.testing.assert_allclose(morph.sections[0].xyz, ref[:, :3], atol=1e-4)
        np.testing.assert_allclose(morph.sections[0].diam, ref[:, 3], atol=1e-4)
        for s in secs:
            s.nseg, s.Ra = 3, 100.0
        d = discretize(morph, 3)
        areas = np.sort([seg.area() for s in secs for seg in s])
        np.testing.assert_allclose(np.sort(d.area[d.is_center]), areas, rtol=2e-5, atol=1e-4)
    finally:
        for s in secs:
            h.delete_section(sec=s)


def test_asc_errors_name_the_file(tmp_path):
    from synaptax.morph import read_asc

    bad = tmp_path / "broken.asc"
    bad.write_text('("CellBody"\n  (Closed)\n  ( 1 2 3 4 )\n')
    with pytest.raises(MorphologyError, match=r"broken\.asc"):
        read_asc(bad)
    with pytest.raises(FileNotFoundError):
        read_asc(tmp_path / "missing.asc")
