"""Every registered model passes the shared model check (tests/harness.py), with the
coefficient input and with the spatial one."""
import pytest

from harness import check_model
from kerastego.models import model_names


@pytest.mark.parametrize("input_kind", ["coefficients", "spatial"])
@pytest.mark.parametrize("name", model_names())
def test_model(name, input_kind, tmp_path):
    check_model(name, input_kind, tmp_path)
