: Low-voltage-activated Ca current (Avery & Johnston 1996, shifted -10 mV) as used by
: Hay et al. (2011), with qt following celsius; written for synaptax's tests.
NEURON {
    SUFFIX sx_Ca_LVAst
    USEION ca READ eca WRITE ica
    RANGE gbar, mInf, mTau, hInf, hTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.00001 (S/cm2) }
ASSIGNED { v (mV) eca (mV) ica (mA/cm2) celsius (degC) mInf mTau hInf hTau }
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
PROCEDURE rates(v) { LOCAL qt, u
    UNITSOFF
    qt = 2.3^((celsius - 21) / 10)
    u = v + 10
    mInf = 1 / (1 + exp(-(u + 30) / 6))
    mTau = (5 + 20 / (1 + exp((u + 25) / 5))) / qt
    hInf = 1 / (1 + exp((u + 80) / 6.4))
    hTau = (20 + 50 / (1 + exp((u + 40) / 7))) / qt
    UNITSON
}
