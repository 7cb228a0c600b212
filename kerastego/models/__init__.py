"""Model zoo: the hybrid framework, SRNet, XuNet2, and a registry by name."""
from kerastego.models.hybrid import build_hybrid, type1_subnet, type2_subnet
from kerastego.models.inputs import COEFFICIENTS, QUANT_TABLE, SPATIAL, model_inputs
from kerastego.models.registry import build_model, model_names, register_model
from kerastego.models.srnet import build_srnet
from kerastego.models.xunet2 import build_xunet2

__all__ = ["build_hybrid", "type1_subnet", "type2_subnet", "build_srnet", "build_xunet2",
           "build_model", "model_names", "register_model", "model_inputs",
           "COEFFICIENTS", "QUANT_TABLE", "SPATIAL"]
