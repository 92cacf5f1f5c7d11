class DomainError(Exception):
    """A business rule refused the action. The message is translated and shown to the user as
    it is; views turn it into a form error or a flash message and change nothing."""
