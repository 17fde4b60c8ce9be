"""Domain errors the services raise and the screens turn into clear messages."""


class DomainError(Exception):
    """A rule of the domain refused the action; the message is safe to show to the user. A use case that
    raises one writes nothing — unless the refusal is itself worth keeping (``keeps_changes``)."""

    keeps_changes = False


class NotFound(DomainError):
    """The object does not exist, or the user may not know that it does."""


class NotAllowed(DomainError):
    """This person may not do this (their role, department or account does not allow it)."""


class SignInRefused(DomainError):
    """Wrong email or password, or the address is temporarily locked. Deliberately says no more. The
    failed attempt is counted and audited all the same."""

    keeps_changes = True

    def __init__(self, locked: bool = False) -> None:
        super().__init__("sign-in refused")
        self.locked = locked


class InvalidInput(DomainError):
    """Input that passed the form but breaks a domain rule (e.g. an email already taken). ``errors`` holds
    every field's problem when there were several (``Problems``); ``field`` and the message are the first."""

    def __init__(self, field: str, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.errors = errors or {field: message}


class Problems:
    """The problems of one input, gathered so that a person is told all of them at once, not one per try."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: object) -> None:
        self.errors.setdefault(field, str(message))

    def take(self, error: InvalidInput) -> None:
        for field, message in error.errors.items():
            self.add(field, message)

    def raise_any(self) -> None:
        if self.errors:
            field = next(iter(self.errors))
            raise InvalidInput(field, self.errors[field], dict(self.errors))
