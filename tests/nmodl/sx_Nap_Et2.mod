: Persistent Na current (Magistretti & Alonso 1999) as used by Hay et al. (2011),
: written for synaptax's tests from the published equations.
NEURON {
    SUFFIX sx_Nap_Et2
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
    am = 0.182 * linexp(v + 38, 6)
    bm = 0.124 * linexp(-v - 38, 6)
    mInf = 1 / (1 + exp(-(v + 52.6) / 4.6))
    mTau = 6 / (qt * (am + bm))
    ah = 2.88e-6 * linexp(-v - 17, 4.63)
    bh = 6.94e-6 * linexp(v + 64.4, 2.63)
    hInf = 1 / (1 + exp((v + 48.8) / 10))
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
