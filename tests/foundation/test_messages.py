"""One-line messages: argparse errors, the config command, odd files, long keys, executors, the Python API."""

from __future__ import annotations

import http.server
import os
import threading
import time

import pytest

from spikealign.cli import main
from spikealign.errors import UserError


def _one_line(capsys, argv, *expected: str, code: int = 2) -> str:
    try:
        got = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        got = exc.code
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert got == code, (got, captured.out, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for e in expected:
        assert e in err, err
    return err


# --------------------------------------------------------------------------- command line
def test_argparse_error_is_one_line_with_a_hint(capsys):
    err = _one_line(capsys, ["run", "c.yaml", "--no-such-flag"], "--no-such-flag", "--help")
    assert "usage:" not in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["config"], "config --list"), (["config", ""], "empty name"), (["config", "toy", "--list"], "not both")],
)
def test_config_command_says_what_is_wrong(capsys, argv, expected):
    _one_line(capsys, argv, expected)


def test_config_list_still_lists(capsys):
    assert main(["config", "--list"]) == 0
    assert "toy" in capsys.readouterr().out


def test_long_unknown_key_is_cut(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("kind: toy\n")
    err = _one_line(capsys, ["run", cfg, "--out", tmp_path / "o", "--set", "k" * 100_000 + "=1"], "100000 characters")
    assert len(err) < 400


def test_special_files_say_what_they_are(tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(loop)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nothing")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, expected in [(loop, "symlink loop"), (dangling, "does not exist"), (fifo, "named pipe"),
                           ("/dev/null", "character device")]:  # fmt: skip
        _one_line(capsys, ["run", path, "--out", tmp_path / "o"], expected)
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- executors
SWEEP = "name: s\nexperiment: toy\nbase: {n_steps: 5}\ngrid: {seed: [1, 2]}\n"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_scheduler_address_of_an_http_server(tmp_path, capsys):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sw = tmp_path / "s.yaml"
        sw.write_text(SWEEP)
        t0 = time.monotonic()
        address = f"tcp://127.0.0.1:{server.server_address[1]}"
        _one_line(capsys, ["sweep", sw, "--out", tmp_path / "o", "--scheduler", address], "not a Dask scheduler")
        assert time.monotonic() - t0 < 5.0 + 2.0  # the documented 5 s, plus slack for a busy machine
        assert not (tmp_path / "o").exists()
    finally:
        server.shutdown()
        server.server_close()


def test_scheduler_probe_accepts_a_dask_handshake():
    import socket
    import struct

    from spikealign.sweep import probe_scheduler

    server = socket.create_server(("127.0.0.1", 0))

    def speak_first():
        conn, _ = server.accept()
        with conn:
            conn.sendall(struct.pack("<Q", 120) + b"\x00" * 120)  # what a Dask scheduler sends first
            time.sleep(0.5)

    threading.Thread(target=speak_first, daemon=True).start()
    try:
        probe_scheduler(f"tcp://127.0.0.1:{server.getsockname()[1]}")
    finally:
        server.close()


def test_scheduler_probe_refuses_garbage_lengths():
    import socket

    from spikealign.sweep import probe_scheduler

    server = socket.create_server(("127.0.0.1", 0))

    def garbage():
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"\xff" * 8)  # a length of 2^64 - 1: the 3 EiB allocation once seen
            time.sleep(0.5)

    threading.Thread(target=garbage, daemon=True).start()
    try:
        with pytest.raises(UserError, match="not a Dask scheduler"):
            probe_scheduler(f"tcp://127.0.0.1:{server.getsockname()[1]}")
    finally:
        server.close()


def test_slurm_option_names_are_checked():
    pytest.importorskip("dask_jobqueue")
    from spikealign.sweep import check_slurm_options

    check_slurm_options({"queue": "cpu", "cores": 4, "memory": "8GB", "walltime": "1:00:00", "account": "p"})
    with pytest.raises(UserError, match="--slurm-option nosuchoption: not an option"):
        check_slurm_options({"nosuchoption": 1})


# --------------------------------------------------------------------------- Python API
def test_estimator_refuses_a_branching_model_and_another_device():
    torch = pytest.importorskip("torch")
    from torch import nn

    from spikealign.deep import convert, make_estimator

    class TwoBranches(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)

        def forward(self, x):
            return self.a(x) + self.b(x)

    with pytest.raises(UserError, match="layer 'b' does not take the output of layer 'a'"):
        make_estimator("sal", convert(TwoBranches(), "sal"))
    chain = convert(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3)), "sal")
    make_estimator("sal", chain)  # a chain is fine
    with pytest.raises(UserError, match="layer 0 is on cpu but the sal estimator runs on meta"):
        make_estimator("sal", chain, device=torch.device("meta"))


def test_convert_refuses_a_model_without_layers():
    torch = pytest.importorskip("torch")
    from spikealign.deep import convert

    with pytest.raises(UserError, match=r"has no nn\.Linear or nn\.Conv2d layer"):
        convert(torch.nn.Sequential(torch.nn.ReLU()), "sal")


def test_estimator_seed_must_be_an_integer():
    torch = pytest.importorskip("torch")
    from spikealign.deep import convert, make_estimator

    chain = convert(torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3)), "sal")
    for seed in (1.5, "3", True, -1):
        with pytest.raises(UserError, match="seed must be a non-negative integer"):
            make_estimator("sal", chain, seed=seed)
