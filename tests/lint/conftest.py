"""Fixtures of the lint tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def fork_calls(monkeypatch):
    """The pids of the children lint forks (counted by wrapping ``os.fork``)."""
    calls = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            calls.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return calls
