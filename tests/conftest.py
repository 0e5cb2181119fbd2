"""Test fixtures: throwaway PostgreSQL clusters (system 15 + embedded 18) and projects."""

pytest_plugins = ("tests.fix_pg", "tests.fix_project")
