"""Unit tests never touch the network, loopback included: moto runs in-process."""

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network():
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture
def pristine_moto():
    """moto as shipped for the test, the local stack's patches as they were afterwards."""
    from local_stack.aws import moto_patches

    was_installed = bool(moto_patches.installed())
    moto_patches.uninstall()
    yield
    moto_patches.uninstall()
    if was_installed:
        moto_patches.install()
