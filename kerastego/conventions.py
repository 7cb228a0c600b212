"""Names and choices every layer of kerastego agrees on, in one module at the bottom
of the import order (no TensorFlow code of its own): models, the data pipeline, the
export, the serving client and the binaries' flags all read them from here.
"""

# Model inputs. A "coefficients" model takes what a JPEG stores (int16 coefficients in
# jpegio's layout + the 8x8 quant table) and decompresses in-graph; a "spatial" model
# takes the non-rounded decompressed image in pixel range (with the +128 level shift).
COEFFICIENTS = "coefficients"
QUANT_TABLE = "quant_table"
IMAGE = "image"
INPUT_KINDS = (COEFFICIENTS, "spatial")

# Level shift of the decompressed image each family's authors fed their network
# (SPEC section 1, authors/README.md): the hybrid authors' released .spatial files
# have none; CALPA-NET's SRNet/XuNet2 inputs add 128.
LEVEL_SHIFT = {"hybrid": False, "srnet": True, "xunet2": True}

# Choices shared by the trainer, evaluate, detect and their flags.
SELECT_RULES = ("accuracy", "p_e")      # how best.keras is chosen
TTA_VIEWS = (1, 2, 4, 8)                # test-time flips/rotations averaged per image
