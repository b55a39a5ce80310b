"""The composition root: the services of one process, built with what they share.

`crisis up` runs every service in one process, `crisis service NAME` one of them; both build
them here. What several services read is made once and handed to each: the process' one folded
picture (the cell decides from it, the plans evaluate their rules on it, the console shows it),
instead of a fold of the whole stream per service. The services' modules are imported only when
a service is built, so the other commands start fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from services.runtime.settings import Settings

if TYPE_CHECKING:
    from services.runtime.system import Service

# In the order they start (and stop in reverse). First the auth service: people can connect only
# once the auth callout answers.
SERVICE_NAMES = ("auth", "eventlog", "picture", "intake", "cell", "plans", "console", "ops", "zone")


def build_services(settings: Settings, names: Sequence[str] = SERVICE_NAMES) -> list[Service]:
    """The services `names`, built for one process: those that read the picture share one."""
    # Imported here, not at the top: see the module's docstring.
    from services.auth.app import AuthService  # noqa: PLC0415
    from services.cell.app import CellService  # noqa: PLC0415
    from services.console.app import ConsoleService  # noqa: PLC0415
    from services.eventlog.app import EventLogService  # noqa: PLC0415
    from services.intake.app import IntakeService  # noqa: PLC0415
    from services.ops.app import OpsService  # noqa: PLC0415
    from services.picture.app import picture_service  # noqa: PLC0415
    from services.picture.follow import SharedPicture  # noqa: PLC0415
    from services.plans.app import PlansService  # noqa: PLC0415
    from services.zone.app import ZoneService  # noqa: PLC0415

    shared = SharedPicture()
    builders: dict[str, Callable[[], Service]] = {
        "auth": lambda: AuthService(settings),
        "eventlog": lambda: EventLogService(settings),
        "picture": lambda: picture_service(settings),
        "intake": lambda: IntakeService(settings),
        "cell": lambda: CellService(settings, shared=shared),
        "plans": lambda: PlansService(settings, shared=shared),
        "console": lambda: ConsoleService(settings, shared=shared),
        "ops": lambda: OpsService(settings),
        "zone": lambda: ZoneService(settings),
    }
    if unknown := [name for name in names if name not in builders]:
        raise ValueError(
            f"no service {', '.join(unknown)}: choose among {', '.join(SERVICE_NAMES)}"
        )
    return [builders[name]() for name in names]
