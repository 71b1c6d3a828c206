: T-type Ca current of Pospischil et al. (2008), eq. 6: i = g s_inf(v)^2 u (v - eca), with
: a voltage shift vx; written for synaptax's tests. No temperature factor.
NEURON {
    SUFFIX sx_Pospischil_CaT
    USEION ca READ eca WRITE ica
    RANGE gbar, vx, uInf, uTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.0004 (S/cm2) vx = 2 (mV) }
ASSIGNED { v (mV) eca (mV) ica (mA/cm2) uInf uTau }
STATE { u }
BREAKPOINT { LOCAL s
    SOLVE states METHOD cnexp
    s = 1 / (1 + exp(-(v + vx + 57) / 6.2))
    ica = gbar * s * s * u * (v - eca)
}
DERIVATIVE states {
    rates(v)
    u' = (uInf - u) / uTau
}
INITIAL { rates(v) u = uInf }
PROCEDURE rates(v) { LOCAL w
    UNITSOFF
    w = v + vx
    uInf = 1 / (1 + exp((w + 81) / 4))
    uTau = (30.8 + (211.4 + exp((w + 113.2) / 5)) / (1 + exp((w + 84) / 3.2))) / 3.7
    UNITSON
}
