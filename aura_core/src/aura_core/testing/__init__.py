"""Test helpers for aura and for third-party plugin authors: fake providers of every kind."""
