: Submembrane calcium shell with buffering and first-order removal (the CaDynamics_E2
: form of Hay et al. 2011); written for synaptax's tests. No INITIAL block: cai starts
: at the ion's cai0, as in the original.
NEURON {
    SUFFIX sx_CaDynamics_E2
    USEION ca READ ica WRITE cai
    RANGE gamma, decay, depth, minCai
}
UNITS { (mV) = (millivolt) (mA) = (milliamp) FARADAY = (faraday) (coulombs)
        (molar) = (1/liter) (mM) = (millimolar) (um) = (micron) }
PARAMETER { gamma = 0.05 decay = 80 (ms) depth = 0.1 (um) minCai = 1e-4 (mM) }
ASSIGNED { ica (mA/cm2) }
STATE { cai (mM) }
BREAKPOINT { SOLVE states METHOD cnexp }
DERIVATIVE states {
    cai' = -(10000) * ica * gamma / (2 * FARADAY * depth) - (cai - minCai) / decay
}
