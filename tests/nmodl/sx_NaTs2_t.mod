: Transient Na current (Colbert & Pan 2002) as used by Hay et al. (2011), written for
: synaptax's tests from the published equations: half-points -32 mV (m) and -60 mV (h).
NEURON {
    SUFFIX sx_NaTs2_t
    USEION na READ ena WRITE ina
    RANGE gbar, mInf, mTau, hInf, hTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.00001 (S/cm2) }
ASSIGNED { v (mV) ena (mV) ina (mA/cm2) celsius (degC) mInf mTau hInf hTau }
STATE { m h }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ina = gbar * m * m * m * h * (v - ena)
}
DERIVATIVE states {
    rates(v)
    m' = (mInf - m) / mTau
    h' = (hInf - h) / hTau
}
INITIAL { rates(v) m = mInf h = hInf }
PROCEDURE rates(v) { LOCAL qt, am, bm, ah, bh
    UNITSOFF
    qt = 2.3^((celsius - 21) / 10)
    am = 0.182 * linexp(v - (-32), 6)
    bm = 0.124 * linexp((-32) - v, 6)
    ah = 0.015 * linexp((-60) - v, 6)
    bh = 0.015 * linexp(v - (-60), 6)
    mInf = am / (am + bm)
    mTau = 1 / (qt * (am + bm))
    hInf = ah / (ah + bh)
    hTau = 1 / (qt * (ah + bh))
    UNITSON
}
UNITSOFF
FUNCTION linexp(x, k) {
    : x / (1 - exp(-x/k)), with its limit k (1 + x/(2k)) near x = 0
    if (fabs(x / k) < 1e-6) {
        linexp = k * (1 + 0.5 * x / k)
    } else {
        linexp = x / (1 - exp(-x / k))
    }
}
UNITSON
