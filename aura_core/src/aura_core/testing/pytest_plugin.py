"""The ``aura`` pytest plugin (entry point ``pytest11``): fixtures for testing with aura."""
