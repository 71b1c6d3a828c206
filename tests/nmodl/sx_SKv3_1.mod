: Kv3.1 K current (Rettig et al. 1992) as used by Hay et al. (2011), no temperature
: factor; written for synaptax's tests from the published equations.
NEURON {
    SUFFIX sx_SKv3_1
    USEION k READ ek WRITE ik
    RANGE gbar, mInf, mTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.00001 (S/cm2) }
ASSIGNED { v (mV) ek (mV) ik (mA/cm2) mInf mTau }
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
PROCEDURE rates(v) {
    UNITSOFF
    mInf = 1 / (1 + exp(-(v - 18.7) / 9.7))
    mTau = 4 / (1 + exp(-(v + 46.56) / 44.14))
    UNITSON
}
