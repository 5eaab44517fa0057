"""Process plumbing of the sweeps: progress bar, keras-tuner's chief/worker mode over gRPC.

keras-tuner runs distributed when `KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT` and
`KERASTUNER_TUNER_ID` are set: the tuner whose id contains "chief" serves the oracle over
gRPC and every other tuner ("tunerN") asks it for trials. `bvae_tf.tuning.run_sweep` sets them
from `--role` and `--oracle HOST:PORT` for the duration of a sweep. One chief serves one oracle
per zoo entry, entry `i` on `PORT + i`, all at once, and returns when every worker has been
told to stop. A worker gives up with a `TimeoutError` when the chief does not answer within
its timeout, instead of keras-tuner's one hour of waiting.

Example:
    >>> parse_address("127.0.0.1:8000")
    ('127.0.0.1', 8000)
"""

import contextlib
import os
import socket
import sys
import time

from bvae_tf import results

_ENVIRONMENT = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
_POLL_S = 0.5


def parse_address(address):
    """Splits `"HOST:PORT"` into `(host, port)`; anything else raises a ValueError."""
    host, _, port = str(address).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"Bad oracle address {address!r}: expected HOST:PORT, e.g. "
                         "127.0.0.1:8000.")
    return host, int(port)


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
            "profile, study and --out; entry i of the sweep is served on PORT + i), or check "
            "--oracle.") from None
    finally:
        channel.close()


@contextlib.contextmanager
def call_timeout(seconds, address):
    """Bounds every worker-to-chief call to `seconds` and turns gRPC failures into errors."""
    import grpc
    from keras_tuner.src.distribute import oracle_client

    saved = oracle_client.TIMEOUT
    oracle_client.TIMEOUT = seconds
    try:
        yield
    except grpc.RpcError as error:
        code = error.code() if hasattr(error, "code") else None
        if code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
            raise TimeoutError(f"Lost the keras-tuner chief at {address}: no answer within "
                               f"{seconds:g} s ({code.name}). Restart the chief and this "
                               "worker with the same command: finished trials are kept.") from None
        raise RuntimeError(f"The keras-tuner chief at {address} failed: {error}") from None
    finally:
        oracle_client.TIMEOUT = saved


def serve(tuners, host, port, progress=None):
    """Serves each tuner's oracle on `PORT + i` until every worker has been told to stop.

    Args:
        tuners: list of chief tuners (`KERASTUNER_TUNER_ID="chief"`), one per zoo entry.
        host: str, address to listen on.
        port: int, port of the first tuner's oracle.
        progress: `Progress` refreshed while serving, or None.

    Raises:
        OSError: a port cannot be bound.
    """
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    servers, servicers = [], []
    try:
        for offset, tuner in enumerate(tuners):
            tuner.save()
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
            servicer = oracle_chief.OracleServicer(tuner.oracle)
            protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
            _bind(server, f"{host}:{port + offset}")
            server.start()
            servers.append(server)
            servicers.append(servicer)
        while not all(servicer.stop_triggered and oracle_chief.exit_chief(tuner.oracle)
                      for servicer, tuner in zip(servicers, tuners)):
            time.sleep(_POLL_S)
            if progress is not None:
                progress.refresh()
    finally:
        for server in servers:
            server.stop(grace=1.0)
    for tuner in tuners:
        tuner.save()


def _bind(server, address):
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as error:
        bound, cause = 0, error
    else:
        cause = None
    if not bound:
        raise OSError(f"The chief cannot listen on {address} ({cause}): is the port in use? "
                      "Choose another --oracle PORT (entry i uses PORT + i).")


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

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.refresh()
            self.bar.close()
