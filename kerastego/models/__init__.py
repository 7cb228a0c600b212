"""Model zoo: the hybrid framework, SRNet, XuNet2, CALPA-SRNet, a registry by name,
model size counting, and the import of the CALPA-NET authors' TF1 checkpoints."""
from kerastego.models.calpa_srnet import build_calpa_srnet, calpa_srnet_widths, published_rates, read_rates_cfg
from kerastego.models.counting import count_conv_params, count_flops, count_kernel_weights, iter_layers
from kerastego.models.hybrid import build_hybrid, type1_subnet, type2_subnet
from kerastego.models.inputs import COEFFICIENTS, QUANT_TABLE, model_input, model_inputs, pixel_range_model
from kerastego.models.registry import (build_model, infer_family, model_family, model_names, register_model,
                                       save_architecture)
from kerastego.models.srnet import build_srnet
from kerastego.models.tf1_import import CheckpointImportError, import_tf1_checkpoint
from kerastego.models.xunet2 import build_xunet2

__all__ = ["build_calpa_srnet", "calpa_srnet_widths", "published_rates", "read_rates_cfg",
           "count_conv_params", "count_flops", "count_kernel_weights", "iter_layers",
           "build_hybrid", "type1_subnet", "type2_subnet", "build_srnet", "build_xunet2",
           "CheckpointImportError", "import_tf1_checkpoint",
           "build_model", "infer_family", "model_family", "model_names", "register_model", "save_architecture",
           "model_input", "model_inputs", "pixel_range_model", "COEFFICIENTS", "QUANT_TABLE"]
