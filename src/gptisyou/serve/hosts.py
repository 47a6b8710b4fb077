"""Where a server listens and which names it answers to: checked before a model loads, decided in one place.

Light on purpose (no web framework): `gptisyou serve` asks it before the model loads.
"""

import socket

from gptisyou.errors import InputError

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def check_can_listen(host: str, port: int) -> None:
    """Raises InputError when the server could not listen at host:port (a bad address, a port in use), before the
    model is loaded: uvicorn would exit with its own code 3, which gptisyou uses for consent."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, protocol, _, address = addresses[0]
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except (OSError, UnicodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise InputError(f"--host {host} --port {port}: cannot listen there ({reason})") from None


def served_host_names(host: str, extra: tuple[str, ...] = ()) -> set[str] | None:
    """The `Host` header names a server listening on `host` answers (None: any). On a loopback address only its
    own names, so a web page cannot reach the server through a domain it rebinds to 127.0.0.1 (DNS rebinding)."""
    if "*" in extra or (host in ("0.0.0.0", "::", "") and not extra):
        return None
    names = {*extra, *LOOPBACK_NAMES}
    if host not in ("0.0.0.0", "::", ""):
        names.add(host)
    return {name.lower() for name in names}
