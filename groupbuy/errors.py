class DomainError(Exception):
    """A business rule refused the action. The message is translated and safe to show the user."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).__name__
