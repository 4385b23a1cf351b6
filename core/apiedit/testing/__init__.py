"""Test kit for apiedit and its plugins: the loopback emulator framework and pytest fixtures."""
