: Persistent K current (Korngreen & Sakmann 2000, shifted -10 mV) as used by Hay et al.
: (2011), with qt following celsius; written for synaptax's tests.
NEURON {
    SUFFIX sx_K_Pst
    USEION k READ ek WRITE ik
    RANGE gbar, mInf, mTau, hInf, hTau
}
UNITS { (S) = (siemens) (mV) = (millivolt) (mA) = (milliamp) }
PARAMETER { gbar = 0.00001 (S/cm2) }
ASSIGNED { v (mV) ek (mV) ik (mA/cm2) celsius (degC) mInf mTau hInf hTau }
STATE { m h }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar * m * m * h * (v - ek)
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
    mInf = 1 / (1 + exp(-(u + 1) / 12))
    if (u < -50) {
        mTau = (1.25 + 175.03 * exp(0.026 * u)) / qt
    } else {
        mTau = (1.25 + 13 * exp(-0.026 * u)) / qt
    }
    hInf = 1 / (1 + exp((u + 54) / 11))
    hTau = (360 + (1010 + 24 * (u + 55)) * exp(-((u + 75) / 48)^2)) / qt
    UNITSON
}
