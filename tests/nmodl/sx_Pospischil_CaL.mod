: L-type Ca current of Pospischil et al. (2008), eq. 5 (Reuveni kinetics), i = g q^2 r
: (v - eca); written for synaptax's tests. No temperature factor.
NEURON {
    SUFFIX sx_Pospischil_CaL
    USEION ca READ eca WRITE ica
    RANGE gbar, qInf, qTau, rInf, rTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.0001 (S/cm2) }
ASSIGNED { v (mV) eca (mV) ica (mA/cm2) qInf qTau rInf rTau }
STATE { q r }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ica = gbar * q * q * r * (v - eca)
}
DERIVATIVE states {
    rates(v)
    q' = (qInf - q) / qTau
    r' = (rInf - r) / rTau
}
INITIAL { rates(v) q = qInf r = rInf }
PROCEDURE rates(v) { LOCAL aq, bq, ar, br, x
    UNITSOFF
    x = -27 - v
    if (fabs(x) < 1e-6) {
        aq = 0.055 * 3.8 * (1 - x / 3.8 / 2)
    } else {
        aq = 0.055 * x / (exp(x / 3.8) - 1)
    }
    bq = 0.94 * exp((-75 - v) / 17)
    ar = 0.000457 * exp((-13 - v) / 50)
    br = 0.0065 / (exp((-15 - v) / 28) + 1)
    qInf = aq / (aq + bq)
    qTau = 1 / (aq + bq)
    rInf = ar / (ar + br)
    rTau = 1 / (ar + br)
    UNITSON
}
