: High-voltage-activated Ca current (Reuveni et al. 1993) as used by Hay et al. (2011);
: written for synaptax's tests. No temperature factor.
NEURON {
    SUFFIX sx_Ca_HVA
    USEION ca READ eca WRITE ica
    RANGE gbar, mInf, mTau, hInf, hTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.00001 (S/cm2) }
ASSIGNED { v (mV) eca (mV) ica (mA/cm2) mInf mTau hInf hTau }
STATE { m h }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ica = gbar * m * m * h * (v - eca)
}
DERIVATIVE states {
    rates(v)
    m' = (mInf - m) / mTau
    h' = (hInf - h) / hTau
}
INITIAL { rates(v) m = mInf h = hInf }
PROCEDURE rates(v) { LOCAL am, bm, ah, bh, x
    UNITSOFF
    x = -27 - v
    if (fabs(x) < 1e-6) {
        am = 0.055 * 3.8 * (1 - x / 3.8 / 2)
    } else {
        am = 0.055 * x / (exp(x / 3.8) - 1)
    }
    bm = 0.94 * exp((-75 - v) / 17)
    ah = 0.000457 * exp((-13 - v) / 50)
    bh = 0.0065 / (exp((-v - 15) / 28) + 1)
    mInf = am / (am + bm)
    mTau = 1 / (am + bm)
    hInf = ah / (ah + bh)
    hTau = 1 / (ah + bh)
    UNITSON
}
