"""The deep-network tests need torch, from the [deep] extra (which `make test` does not install on Python 3.13)."""

import pytest

pytest.importorskip("torch", reason="torch is not installed: the deep-network tests need 'spikealign[deep]'")
