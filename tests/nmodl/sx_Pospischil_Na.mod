: Fast Na current of Pospischil et al. (2008) (Traub & Miles 1991 form); rates scaled by
: 3^((celsius - 36)/10). Written for synaptax's tests from the published equations.
NEURON {
    SUFFIX sx_Pospischil_Na
    USEION na READ ena WRITE ina
    RANGE gbar, vt, mInf, mTau, hInf, hTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.05 (S/cm2) vt = -56.2 (mV) }
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
PROCEDURE rates(v) { LOCAL tadj, u, am, bm, ah, bh
    UNITSOFF
    tadj = 3^((celsius - 36) / 10)
    u = v - vt
    am = 0.32 * linexp(u - 13, 4)
    bm = 0.28 * linexp(40 - u, 5)
    ah = 0.128 * exp((17 - u) / 18)
    bh = 4 / (1 + exp((40 - u) / 5))
    mInf = am / (am + bm)
    mTau = 1 / (tadj * (am + bm))
    hInf = ah / (ah + bh)
    hTau = 1 / (tadj * (ah + bh))
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
