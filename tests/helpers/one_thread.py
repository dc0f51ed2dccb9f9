"""One torch thread while a test trains tiny evaluator networks (an autouse fixture)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """These tiny convolutions gain nothing from a second thread, and while other processes keep the cores busy,
    thread hand-offs made each training step ~100x slower (3 ms vs 450 ms, measured on the 2-core dev machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
