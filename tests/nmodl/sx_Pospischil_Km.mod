: Slow M-type K current of Pospischil et al. (2008) (after Yamada et al. 1989); rates
: scaled by 2.3^((celsius - 36)/10). Written for synaptax's tests from the published equations.
NEURON {
    SUFFIX sx_Pospischil_Km
    USEION k READ ek WRITE ik
    RANGE gbar, tau_max, pInf, pTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.00007 (S/cm2) tau_max = 1000 (ms) }
ASSIGNED { v (mV) ek (mV) ik (mA/cm2) celsius (degC) pInf pTau }
STATE { p }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar * p * (v - ek)
}
DERIVATIVE states {
    rates(v)
    p' = (pInf - p) / pTau
}
INITIAL { rates(v) p = pInf }
PROCEDURE rates(v) { LOCAL tadj, x
    UNITSOFF
    tadj = 2.3^((celsius - 36) / 10)
    pInf = 1 / (1 + exp(-(v + 35) / 10))
    x = (v + 35) / 20
    pTau = tau_max / (tadj * (3.3 * exp(x) + exp(-x)))
    UNITSON
}
