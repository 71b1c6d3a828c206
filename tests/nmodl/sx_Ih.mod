: HCN current (Kole et al. 2006) as used by Hay et al. (2011), no temperature factor;
: written for synaptax's tests from the published equations.
NEURON {
    SUFFIX sx_Ih
    NONSPECIFIC_CURRENT ihcn
    RANGE gbar, ehcn, mInf, mTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.00001 (S/cm2) ehcn = -45 (mV) }
ASSIGNED { v (mV) ihcn (mA/cm2) mInf mTau }
STATE { m }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ihcn = gbar * m * (v - ehcn)
}
DERIVATIVE states {
    rates(v)
    m' = (mInf - m) / mTau
}
INITIAL { rates(v) m = mInf }
PROCEDURE rates(v) { LOCAL am, bm
    UNITSOFF
    am = 6.43e-3 * linexp(-(v + 154.9), 11.9)
    bm = 0.193 * exp(v / 33.1)
    mInf = am / (am + bm)
    mTau = 1 / (am + bm)
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
