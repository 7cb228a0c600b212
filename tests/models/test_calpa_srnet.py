"""CALPA-SRNet from rates: the released configuration is the default, and an
authors' .cfg rates file reads into exactly the released checkpoint's widths."""
import pytest

from kerastego.models import (build_calpa_srnet, build_model, calpa_srnet_widths, count_conv_params, count_flops,
                              published_rates, read_rates_cfg)
from kerastego.models.calpa_srnet import fig1_rates, kept_count


def test_default_rates_give_released_widths_and_size():
    w = calpa_srnet_widths()
    assert w["L12_conv1"] == 25 and w["L12_conv2"] == 25        # released cfg and checkpoint
    assert w["L9_conv1"] == 16 and w["L9_conv2"] == w["L9_short"] == 19 == kept_count(64, 0.70)
    assert [w[f"L{n}_conv1"] for n in range(3, 8)] == [14, 8, 8, 9, 15]
    calpa, full = build_model("calpa-srnet", input_kind="spatial"), build_model("srnet")
    assert count_conv_params(full) == 4_770_624                  # SPEC: SRNet 477.06e4
    assert count_conv_params(calpa) == 62_580                    # paper: 6.93e4 at sigma 5%
    assert 0.30 <= count_flops(calpa) / count_flops(full) <= 0.40  # paper: 1.97e9 / 5.95e9


def test_fig1_variant_is_the_papers_figure():
    assert calpa_srnet_widths(fig1_rates())["L12_conv2"] == 51


def test_released_cfg_reads_into_the_default_rates(authors_calpa):
    assert read_rates_cfg(authors_calpa["rates_cfg"]) == published_rates()


def test_cfg_build_equals_released_checkpoint_widths(authors_calpa):
    from kerastego.models.tf1_import import read_tf1_checkpoint, widths_from_variables
    model = build_calpa_srnet(input_shape=(64, 64, 1), rates=authors_calpa["rates_cfg"], input_kind="spatial")
    built = {l.name: l.filters for l in model.layers if hasattr(l, "filters")}
    assert built == widths_from_variables(read_tf1_checkpoint(authors_calpa["checkpoint"]))


def test_bad_rates_files_are_refused_by_name(tmp_path):
    missing = tmp_path / "no_l1.cfg"
    missing.write_text("[Thinet_rate]\nlayer3 = 0.1\n")
    with pytest.raises(ValueError, match=r"no_l1.cfg: no \[L1_rate\]"):
        read_rates_cfg(str(missing))
    bad = tmp_path / "bad.cfg"
    bad.write_text("[Thinet_rate]\nlayer3 = 1.5\n[L1_rate]\nlayer8 = 0.1\n")
    with pytest.raises(ValueError, match=r"bad.cfg: \[Thinet_rate\] layer3 = 1.5"):
        read_rates_cfg(str(bad))
    unknown = tmp_path / "unknown.cfg"
    unknown.write_text("[Thinet_rate]\nlayer13 = 0.1\n[L1_rate]\nlayer8 = 0.1\n")
    with pytest.raises(ValueError, match=r"unknown.cfg: .*L13_conv1"):
        read_rates_cfg(str(unknown))
    with pytest.raises(FileNotFoundError, match="nowhere.cfg"):
        read_rates_cfg(str(tmp_path / "nowhere.cfg"))
