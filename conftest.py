"""Test-session isolation: local-only DDS and a ROS domain id no other run on this machine holds;
hypothesis profiles and a random seed printed on every run.

Imported by pytest before any test module, so the environment is set before rclpy starts.
"""

import os
import secrets

import pytest
from hypothesis import settings

from corridor_nodes.ros_env import allocate_domain_id

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
_DOMAIN_ID, _DOMAIN_LOCK = allocate_domain_id()
os.environ["ROS_DOMAIN_ID"] = str(_DOMAIN_ID)


# --- hypothesis: profiles and a random seed printed on every run -----------------------------
# ``ci`` (the default, `make test`) and ``soak`` (`make soak`, the tests marked ``property``):
# examples per property test that leaves max_examples to the profile. Failures print the
# blob that replays them (``@reproduce_failure``); pin them with ``@example``.
settings.register_profile("ci", max_examples=300, print_blob=True)
settings.register_profile("soak", parent=settings.get_profile("ci"), max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_SEED_OPTION = "--hypothesis-seed"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Draw a fresh seed when none was given, so every run explores new cases and says which
    (hypothesis' own plugin then seeds every test with it)."""
    if config.getoption(_SEED_OPTION, default=None) is None:
        config.option.hypothesis_seed = str(secrets.randbelow(2**32))


def _seed_line(config: pytest.Config) -> str:
    seed = config.getoption(_SEED_OPTION)
    profile = settings.get_current_profile_name()
    return f"hypothesis seed {seed}, profile {profile!r} (repeat with {_SEED_OPTION}={seed})"


def pytest_report_header(config: pytest.Config) -> str:
    """The seed in the header of every run."""
    return _seed_line(config)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """And again at the end, where a failure is read."""
    terminalreporter.write_line(_seed_line(config))
