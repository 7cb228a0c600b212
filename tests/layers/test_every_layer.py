"""Every layer class kerastego.layers exports passes the shared layer check
(tests/harness.py); a class without a case fails here."""
import pytest

from harness import LAYER_CASES, check_layer, registered_layer_classes


def test_every_registered_layer_has_a_case():
    assert set(registered_layer_classes()) == set(LAYER_CASES)


@pytest.mark.parametrize("cls", registered_layer_classes(), ids=lambda c: c.__name__)
def test_layer(cls, tmp_path):
    check_layer(LAYER_CASES[cls], tmp_path)
