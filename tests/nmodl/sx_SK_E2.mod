: Small-conductance Ca-activated K current (Koehler et al. 1996) as used by Hay et al.
: (2011); the gate follows cai (mM). Written for synaptax's tests.
NEURON {
    SUFFIX sx_SK_E2
    USEION k READ ek WRITE ik
    USEION ca READ cai
    RANGE gbar, zInf, zTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) (mM) = (milli/liter) }
PARAMETER { gbar = 0.000001 (S/cm2) }
ASSIGNED { v (mV) ek (mV) ik (mA/cm2) cai (mM) zInf zTau (ms) }
STATE { z }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar * z * (v - ek)
}
DERIVATIVE states {
    rates(cai)
    z' = (zInf - z) / zTau
}
INITIAL { rates(cai) z = zInf }
PROCEDURE rates(ca (mM)) { LOCAL c
    UNITSOFF
    c = ca
    if (c < 1e-7) { c = c + 1e-7 }
    zInf = 1 / (1 + (0.00043 / c)^4.8)
    zTau = 1
    UNITSON
}
