"""What talking to an experiment kernel can raise, wherever the kernel runs."""


class KernelCommandError(Exception):
    """A command raised in the kernel; `ename` is the exception's class name there."""

    def __init__(self, command: str, ename: str, evalue: str):
        self.ename = ename
        self.evalue = evalue
        super().__init__(f"{command}: {ename}: {evalue}")


class KernelGone(Exception):
    """The kernel died or was shut down while a command was pending."""


class GatewayError(RuntimeError):
    """The kernel gateway refused or could not be reached; the message names its URL."""
