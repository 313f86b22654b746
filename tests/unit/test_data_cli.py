"""`deskgraph data …` and `deskgraph tools …` through Typer's CliRunner."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from agent.cli import _register, app

_register()
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def seeded(tmp_path):
    db = tmp_path / "var" / "store.db"
    r = run("data", "seed", "--db", str(db), "--customers", "15", "--seed", "2")
    assert r.exit_code == 0, r.output
    assert "users=15" in r.output and "orders=38" in r.output and "products=50" in r.output
    return db


def _read(folder):
    return {n: (folder / f"{n}.json").read_bytes() for n in ("users", "orders", "products")}


def test_seed_export_import_roundtrip(seeded, tmp_path):
    out1, out2 = tmp_path / "out1", tmp_path / "out2"
    assert run("data", "export", str(out1), "--db", str(seeded)).exit_code == 0
    db2 = tmp_path / "other.db"
    r = run("data", "import", str(out1), "--db", str(db2))
    assert r.exit_code == 0, r.output
    assert run("data", "export", str(out2), "--db", str(db2)).exit_code == 0
    assert _read(out1) == _read(out2)
    from tools.generator import generate_dataset

    data = {n: json.loads(b) for n, b in _read(out1).items()}
    assert json.dumps(data) == json.dumps(generate_dataset(customers=15, seed=2))


def test_data_commands_take_a_postgresql_url(seeded, tmp_path, postgres_url):
    """Seeded on SQLite, exported, imported into PostgreSQL and exported again: the same bytes; seed works there
    too and gives what it gives on SQLite."""
    out1, out2 = tmp_path / "out1", tmp_path / "out2"
    assert run("data", "export", str(out1), "--db", str(seeded)).exit_code == 0
    r = run("data", "import", str(out1), "--db", postgres_url)
    assert r.exit_code == 0 and "users=15" in r.output, r.output
    assert run("data", "export", str(out2), "--db", postgres_url).exit_code == 0
    assert _read(out1) == _read(out2)
    r = run("data", "seed", "--db", postgres_url, "--customers", "15", "--seed", "2")
    assert r.exit_code == 0 and "orders=38" in r.output, r.output
    assert run("data", "export", str(out2), "--db", postgres_url).exit_code == 0
    assert _read(out1) == _read(out2)


def test_seed_is_deterministic(tmp_path):
    for name in ("a", "b"):
        assert run("data", "seed", "--db", str(tmp_path / f"{name}.db"), "--customers", "5").exit_code == 0
        assert run("data", "export", str(tmp_path / name), "--db", str(tmp_path / f"{name}.db")).exit_code == 0
    assert _read(tmp_path / "a") == _read(tmp_path / "b")


def test_import_tau_roundtrip(tmp_path):
    from tests.shared_data import load_tau_retail, tau_retail_dir

    load_tau_retail()
    db, out = tmp_path / "t.db", tmp_path / "out"
    assert run("data", "import", str(tau_retail_dir()), "--db", str(db)).exit_code == 0
    assert run("data", "export", str(out), "--db", str(db)).exit_code == 0
    for n in ("users", "orders", "products"):
        a = json.loads((tau_retail_dir() / f"{n}.json").read_text())
        b = json.loads((out / f"{n}.json").read_text())
        assert json.dumps(a) == json.dumps(b)


def _export(db, folder):
    assert run("data", "export", str(folder), "--db", str(db)).exit_code == 0
    return _read(folder)


@pytest.mark.parametrize(
    "breaker,expected",
    [
        (lambda d: os.remove(d / "orders.json"), "missing file"),
        (lambda d: (d / "users.json").write_text("{not json"), "bad JSON"),
        (lambda d: (d / "products.json").write_text("[]"), "wrong shape"),
        (lambda d: (d / "orders.json").write_text(
            json.dumps({k: dict(v, status=1) for k, v in json.loads((d / "orders.json").read_text()).items()})),
         "wrong shape: orders["),
    ],
)
def test_import_errors_write_nothing(seeded, tmp_path, breaker, expected):
    src = tmp_path / "src"
    before = _export(seeded, src)
    breaker(src)
    r = run("data", "import", str(src), "--db", str(seeded))
    assert r.exit_code == 1
    assert expected in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert _export(seeded, tmp_path / "after") == before
    fresh = tmp_path / "fresh" / "new.db"
    assert run("data", "import", str(src), "--db", str(fresh)).exit_code == 1
    assert not fresh.exists()


def test_import_missing_dir(tmp_path):
    r = run("data", "import", str(tmp_path / "nope"), "--db", str(tmp_path / "x.db"))
    assert r.exit_code == 1 and "not a directory" in r.output


def test_export_missing_store(tmp_path):
    r = run("data", "export", str(tmp_path / "o"), "--db", str(tmp_path / "none.db"))
    assert r.exit_code == 1 and "store not found" in r.output


def test_tools_list_and_call(seeded):
    r = run("tools", "list")
    assert r.exit_code == 0 and len(r.output.strip().splitlines()) == 16
    assert "[write]" in r.output and "cancel_pending_order" in r.output
    r = run("tools", "call", "calculate", "--args", '{"expression": "2.675"}', "--db", str(seeded))
    assert r.exit_code == 0 and r.output == "2.67\n"
    r = run("tools", "call", "get_user_details", "--args", '{"user_id": "nobody"}', "--db", str(seeded))
    assert r.output == "Error: user not found\n"
    r = run("tools", "call", "list_all_product_types", "--db", str(seeded))
    assert r.exit_code == 0 and len(json.loads(r.output)) == 50
    assert run("tools", "call", "nope", "--db", str(seeded)).exit_code == 2
    assert run("tools", "call", "think", "--args", "{bad", "--db", str(seeded)).exit_code == 2


@pytest.mark.parametrize("cmd", [["data"], ["data", "seed"], ["data", "import"], ["data", "export"],
                                 ["tools"], ["tools", "list"], ["tools", "call"]])
def test_help(cmd):
    r = run(*cmd, "--help")
    assert r.exit_code == 0 and "Usage" in r.output
