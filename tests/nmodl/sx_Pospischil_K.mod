: Delayed-rectifier K current of Pospischil et al. (2008) (Traub & Miles 1991 form); rates
: scaled by 3^((celsius - 36)/10). Written for synaptax's tests from the published equations.
NEURON {
    SUFFIX sx_Pospischil_K
    USEION k READ ek WRITE ik
    RANGE gbar, vt, nInf, nTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.005 (S/cm2) vt = -56.2 (mV) }
ASSIGNED { v (mV) ek (mV) ik (mA/cm2) celsius (degC) nInf nTau }
STATE { n }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar * n * n * n * n * (v - ek)
}
DERIVATIVE states {
    rates(v)
    n' = (nInf - n) / nTau
}
INITIAL { rates(v) n = nInf }
PROCEDURE rates(v) { LOCAL tadj, u, an, bn
    UNITSOFF
    tadj = 3^((celsius - 36) / 10)
    u = v - vt
    an = 0.032 * linexp(u - 15, 5)
    bn = 0.5 * exp((10 - u) / 40)
    nInf = an / (an + bn)
    nTau = 1 / (tadj * (an + bn))
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
