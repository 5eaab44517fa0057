"""Process plumbing of the sweeps: progress bar, keras-tuner's chief/worker mode over gRPC.

keras-tuner runs distributed when `KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT` and
`KERASTUNER_TUNER_ID` are set: the tuner whose id contains "chief" serves the oracle over
gRPC and every other tuner ("tunerN") asks it for trials. `bvae_tf.tuning.run_sweep` sets them
from `--role` and `--oracle HOST:PORT` for the duration of a sweep. The chief serves the
study's one oracle on that port and returns when every worker has been told to stop. A
worker gives up with a `TimeoutError` when the chief does not answer within its timeout,
instead of keras-tuner's one hour of waiting (`bvae_tf.kt_compat`).

Example:
    >>> parse_address("127.0.0.1:8000")
    ('127.0.0.1', 8000)
"""

import contextlib
import fcntl
import ipaddress
import os
import pathlib
import socket
import sys
import threading
import warnings

from bvae_tf import results

_ENVIRONMENT = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
_REFRESH_S = 1.0


def parse_address(address):
    """Splits `"HOST:PORT"` into `(host, port)`; anything else raises a ValueError."""
    host, _, port = str(address).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"Bad oracle address {address!r}: expected HOST:PORT, e.g. "
                         "127.0.0.1:8000.")
    return host, int(port)


@contextlib.contextmanager
def repeating(seconds, action, name=None):
    """Calls `action()` every `seconds` from a daemon thread while the block runs.

    Example:
        >>> calls = []
        >>> with repeating(0.01, lambda: calls.append(1)):
        ...     _ = threading.Event().wait(0.1)
        >>> len(calls) > 0
        True
    """
    stop = threading.Event()

    def loop():
        while not stop.wait(seconds):
            action()

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def worker_id():
    """Returns this worker's tuner id: `$KERASTUNER_TUNER_ID` if set, else host and pid."""
    given = os.environ.get("KERASTUNER_TUNER_ID")
    if given and "chief" not in given:
        return given
    return f"tuner-{socket.gethostname()}-{os.getpid()}"


@contextlib.contextmanager
def environment(role, host, port):
    """Sets keras-tuner's distribution variables for `role` (clears them for "local")."""
    saved = {name: os.environ.get(name) for name in _ENVIRONMENT}
    values = {}
    if role != "local":
        values = {"KERASTUNER_TUNER_ID": "chief" if role == "chief" else worker_id(),
                  "KERASTUNER_ORACLE_IP": host, "KERASTUNER_ORACLE_PORT": str(port)}
    try:
        for name in _ENVIRONMENT:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def wait_for_chief(host, port, timeout):
    """Waits until a gRPC server answers at host:port.

    Raises:
        TimeoutError: nothing answered within `timeout` seconds (the message says what to do).
    """
    import grpc

    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise TimeoutError(
            f"No keras-tuner chief answered at {host}:{port} within {timeout:g} s. Start the "
            "chief first (`bvae-tf sweep --role chief --oracle HOST:PORT` with the same "
            "profile, study and --results), or check --oracle.") from None
    finally:
        channel.close()


@contextlib.contextmanager
def chief_errors(address, seconds):
    """Turns a worker's gRPC failures into errors that say what to do."""
    import grpc

    try:
        yield
    except grpc.RpcError as error:
        code = error.code() if hasattr(error, "code") else None
        if code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
            raise TimeoutError(f"Lost the keras-tuner chief at {address}: no answer within "
                               f"{seconds:g} s ({code.name}). Restart the chief and this "
                               "worker with the same command: finished trials are kept.") from None
        raise RuntimeError(f"The keras-tuner chief at {address} failed: {error}") from None


def check_listen_address(host, port):
    """Checks that the chief can listen on host:port; warns when that is beyond loopback.

    keras-tuner's oracle speaks plaintext, unauthenticated gRPC: anyone who reaches the port
    can read the grid and report results. Keep it on loopback, a private network or an SSH
    tunnel (README, "The paper profile, on a GPU or across machines").

    Raises:
        OSError: the address cannot be bound (the message says which port to change).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, protocol, _, address = infos[0]
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        raise OSError(f"The chief cannot listen on {host}:{port} ({error.strerror or error}): "
                      "is the port in use, or the host not this machine's? Choose another "
                      "--oracle HOST:PORT.") from None
    if not ipaddress.ip_address(address[0]).is_loopback:
        warnings.warn(f"The keras-tuner chief listens on {host}:{port}, beyond loopback, with "
                      "plaintext unauthenticated gRPC: keep that port on a trusted network "
                      "(a private network or an SSH tunnel).", stacklevel=2)


class SweepBusyError(RuntimeError):
    """Raised when another sweep process already runs a study in the same results directory."""


@contextlib.contextmanager
def sweep_lock(results_dir, study, role):
    """Holds `<results>/.lock-<study>` while a local sweep or a chief runs (workers share).

    Two local sweeps of one study into one directory would train the same trials into the
    same paths; the second is refused, naming the first's process. The lock is an `flock`,
    released by the kernel when its holder dies, so a killed sweep never blocks a rerun.

    Raises:
        SweepBusyError: another process holds the lock.
    """
    if role == "worker":
        yield
        return
    path = pathlib.Path(results_dir) / f".lock-{study}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SweepBusyError(
                f"The {study} sweep in {results_dir} is already run by {holder}. Wait for it "
                "to finish, or stop it; to run several processes on one study, start one "
                "--role chief and any number of --role worker.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Progress:
    """A tqdm bar over the trials of a sweep: done (records present) out of total.

    Args:
        results_dir: path of the results directory.
        study: "shapes" or "mnist".
        names: list of the sweep's trial names.
        enabled: bool, False shows nothing.
    """

    def __init__(self, results_dir, study, names, enabled=True):
        self.results_dir = results_dir
        self.study = study
        self.names = list(names)
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=len(self.names), desc=f"sweep {study}", unit="trial",
                            file=sys.stderr, dynamic_ncols=True)
            self.refresh()

    def done(self):
        """Returns how many trials of the sweep have their record."""
        return sum(results.record_exists(self.results_dir, self.study, name)
                   for name in self.names)

    def refresh(self):
        """Moves the bar to the number of finished trials."""
        if self.bar is not None:
            self.bar.update(self.done() - self.bar.n)

    @contextlib.contextmanager
    def refreshing(self, enabled=True):
        """Refreshes the bar every second from a thread while the block runs (a chief)."""
        if not enabled or self.bar is None:
            yield
            return
        with repeating(_REFRESH_S, self.refresh):
            yield

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.refresh()
            self.bar.close()
