: M-type K current (Adams et al. 1982) as used by Hay et al. (2011); written for
: synaptax's tests from the published equations.
NEURON {
    SUFFIX sx_Im
    USEION k READ ek WRITE ik
    RANGE gbar, mInf, mTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.00001 (S/cm2) }
ASSIGNED { v (mV) ek (mV) ik (mA/cm2) celsius (degC) mInf mTau }
STATE { m }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar * m * (v - ek)
}
DERIVATIVE states {
    rates(v)
    m' = (mInf - m) / mTau
}
INITIAL { rates(v) m = mInf }
PROCEDURE rates(v) { LOCAL qt, am, bm
    UNITSOFF
    qt = 2.3^((celsius - 21) / 10)
    am = 3.3e-3 * exp(0.1 * (v + 35))
    bm = 3.3e-3 * exp(-0.1 * (v + 35))
    mInf = am / (am + bm)
    mTau = 1 / (qt * (am + bm))
    UNITSON
}
