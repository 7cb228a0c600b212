"""The CALPA-NET search refuses a rate step of zero."""

import numpy as np
import pytest



def test_prune_search_refuses_a_zero_step():
    from kerastego.models import build_model
    from kerastego.pruning import search
    with pytest.raises(ValueError, match=r"epsilon \(the rate step\) must be in \(0, 1\), got 0"):
        search(build_model("calpa-srnet", input_shape=(64, 64, 1), input_kind="spatial"), np.zeros((2, 64, 64, 1)),
               [0, 1], epsilon=0)
