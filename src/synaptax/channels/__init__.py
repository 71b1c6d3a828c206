"""Ion channels: the abstract type and concrete mechanisms."""

from synaptax.channels._base import AbstractChannel as AbstractChannel
from synaptax.channels._base import AbstractConcentration as AbstractConcentration
from synaptax.channels._base import AbstractGatedChannel as AbstractGatedChannel
from synaptax.channels._base import AbstractMechanism as AbstractMechanism
from synaptax.channels._base import Ions as Ions
from synaptax.channels._base import nernst as nernst
from synaptax.channels.calcium import SKE2 as SKE2
from synaptax.channels.calcium import CaHVA as CaHVA
from synaptax.channels.calcium import CaLVAst as CaLVAst
from synaptax.channels.hay2011 import Ih as Ih
from synaptax.channels.hay2011 import Im as Im
from synaptax.channels.hay2011 import KPst as KPst
from synaptax.channels.hay2011 import KTst as KTst
from synaptax.channels.hay2011 import NapEt2 as NapEt2
from synaptax.channels.hay2011 import NaTaT as NaTaT
from synaptax.channels.hay2011 import NaTs2T as NaTs2T
from synaptax.channels.hay2011 import SKv31 as SKv31
from synaptax.channels.hh import HH as HH
from synaptax.channels.passive import Leak as Leak
from synaptax.channels.pospischil import PospischilCaL as PospischilCaL
from synaptax.channels.pospischil import PospischilCaT as PospischilCaT
from synaptax.channels.pospischil import PospischilK as PospischilK
from synaptax.channels.pospischil import PospischilKm as PospischilKm
from synaptax.channels.pospischil import PospischilNa as PospischilNa

CHANNELS: dict[str, type[AbstractChannel]] = {
    cls.name: cls
    for cls in (
        HH,
        Leak,
        NaTaT,
        NaTs2T,
        NapEt2,
        SKv31,
        KTst,
        KPst,
        Im,
        Ih,
        PospischilNa,
        PospischilK,
        PospischilKm,
        PospischilCaL,
        PospischilCaT,
        CaHVA,
        CaLVAst,
        SKE2,
    )
}
