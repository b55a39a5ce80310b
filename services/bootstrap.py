"""The composition root: what the services of one process share, built once, and the services.

`crisis up` runs every service in one process, `crisis service NAME` one of them, and the other
commands need a store or a bus: all of them ask a `Root`. It makes, once per process and only
when first asked, the log's store (one database engine), the people file, the plans' rule books
and the process' one picture (the cell decides from it, the plans evaluate their rules on it,
the console shows it and the picture service serves it), and hands them to the services it
builds. It closes what it made when the process is done with it.

The services' modules are imported only when a service is built, so the other commands start
fast. A command that needs the bus asks for it here too (`open_bus`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

from services.runtime.settings import Settings

if TYPE_CHECKING:
    from services.cell.app import PeopleFile
    from services.eventlog.store import EventStore
    from services.picture.follow import SharedPicture
    from services.plans.app import RuleBook
    from services.runtime.bus import Bus
    from services.runtime.system import Service

# In the order they start (and stop in reverse). First the auth service: people can connect only
# once the auth callout answers.
SERVICE_NAMES = ("auth", "eventlog", "picture", "intake", "cell", "plans", "console", "ops", "zone")


class Root:
    """What one process shares, made on first use: `async with Root(settings) as root: ...`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack = AsyncExitStack()
        self._picture: SharedPicture | None = None

    async def own_folder(self) -> None:
        """Hold `var/` and its JetStream store for as long as this root is open: the process
        that runs the system (`crisis up`) calls it before it starts anything. LockedError (its
        message one line naming the system that runs) when another process holds them."""
        from services.runtime.locks import SystemLocks  # noqa: PLC0415

        locks = SystemLocks(self.settings)
        await locks.acquire()
        self._stack.callback(locks.release)

    @cached_property
    def store(self) -> EventStore:
        """The event log's store: the process' one database engine."""
        from services.eventlog.store import own_store  # noqa: PLC0415

        return own_store(self._stack, self.settings.database_url)

    async def migrated_store(self) -> EventStore:
        """The store, its database brought to the current schema first."""
        from services.eventlog.schema import upgrade  # noqa: PLC0415

        await upgrade(self.store.engine)
        return self.store

    @cached_property
    def people(self) -> PeopleFile:
        """The people file, read again whenever it changes."""
        from services.cell.app import PeopleFile  # noqa: PLC0415

        return PeopleFile(self.settings.people_path)

    @cached_property
    def rules(self) -> RuleBook:
        """The plans' rule books, one per département."""
        from services.plans.app import RuleBook  # noqa: PLC0415

        return RuleBook(self.settings.plans_dir)

    def picture(self, *, snapshots: bool) -> SharedPicture:
        """The process' one picture; it writes snapshots if the picture service runs here."""
        from services.picture.follow import SharedPicture  # noqa: PLC0415

        if self._picture is None:
            self._picture = SharedPicture.configured(
                self.store, self.settings, writes_snapshots=snapshots
            )
        return self._picture

    def services(self, names: Sequence[str] = SERVICE_NAMES) -> list[Service]:
        """The services `names`, built with what they share."""
        # Imported here, not at the top: see the module's docstring.
        from services.auth.app import AuthService  # noqa: PLC0415
        from services.cell.app import CellService  # noqa: PLC0415
        from services.console.app import ConsoleService  # noqa: PLC0415
        from services.eventlog.app import EventLogService  # noqa: PLC0415
        from services.intake.app import IntakeService  # noqa: PLC0415
        from services.ops.app import OpsService  # noqa: PLC0415
        from services.picture.app import PictureService  # noqa: PLC0415
        from services.plans.app import PlansService  # noqa: PLC0415
        from services.zone.app import ZoneService  # noqa: PLC0415

        if unknown := [name for name in names if name not in SERVICE_NAMES]:
            raise ValueError(
                f"no service {', '.join(unknown)}: choose among {', '.join(SERVICE_NAMES)}"
            )
        settings = self.settings
        reads_picture = {"picture", "cell", "plans", "console"}
        shared = self.picture(snapshots="picture" in names) if reads_picture & {*names} else None
        builders: dict[str, Callable[[], Service]] = {
            "auth": lambda: AuthService(settings, store=self.store, people=self.people),
            "eventlog": lambda: EventLogService(settings, self.store),
            "picture": lambda: PictureService(
                settings, self.store, shared=shared, people=self.people
            ),
            "intake": lambda: IntakeService(settings),
            "cell": lambda: CellService(settings, shared=shared, people=self.people),
            "plans": lambda: PlansService(settings, shared=shared, rules=self.rules),
            "console": lambda: ConsoleService(
                settings, shared=shared, store=self.store, people=self.people
            ),
            "ops": lambda: OpsService(settings, store=self.store),
            "zone": lambda: ZoneService(settings),
        }
        return [builders[name]() for name in names]

    async def aclose(self) -> None:
        """Close what was made (after the services that used it have stopped)."""
        await self._stack.aclose()

    async def __aenter__(self) -> Root:
        """The root, closed on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[EventStore]:
    """The configured store, migrated to the current schema, for one command."""
    async with Root(settings) as root:
        yield await root.migrated_store()


def bus_url(settings: Settings, user: str = "admin") -> str:
    """Where a command reaches the bus as `user`: CRISIS_NATS_URL, else that user's URL on the
    system running from this folder (NotRunningError when none is)."""
    from services.runtime.discovery import resolve_nats_url  # noqa: PLC0415

    return resolve_nats_url(settings, user)


@asynccontextmanager
async def open_bus(
    settings: Settings,
    *,
    name: str,
    user: str = "admin",
    url: str | None = None,
    with_topology: bool = False,
) -> AsyncIterator[Bus]:
    """A bus connection for one command, named `name`: to `url`, or as `user` (`bus_url`); with
    the streams made sure of first if `with_topology`. Drained when the command is done."""
    from services.runtime.bus import connect  # noqa: PLC0415
    from services.runtime.topology import topology  # noqa: PLC0415

    plan = topology(settings) if with_topology else None
    async with connect(url or bus_url(settings, user), name=name, plan=plan) as bus:
        yield bus
