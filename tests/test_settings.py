"""One settings object: every `LIENTHONG_*` variable is read and checked by
`lienthong.settings.load` and passed down; the product has one local time zone, one `Period`
and one instant parser.

The source checks read the product with `ast`, so a comment or a help text naming a variable does
not count, and a read through a named constant (`environ.get(KEY_VARIABLE)`) does.
"""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from connectors.base import LOCAL_TZ
from lienthong import mapper, orchestration
from lienthong.cli import _parser
from lienthong.settings import DEFAULT_REPORTING_UNIT, Settings, SettingsError, load
from warehouse.reports.periods import Period

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("connectors", "mappings", "warehouse", "lienthong", "dags")
# The settings; the warehouse's resolution order (it reads the Airflow connection variable too);
# alembic's environment, which runs without the product's settings.
MAY_READ = {"lienthong/settings.py", "lienthong/warehouse_url.py", "warehouse/migrations/env.py"}
KEY = "a-settings-test-key-0123456789-abcdef"


def _product_files() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for top in PRODUCT
        for path in sorted((ROOT / top).rglob("*.py"))
    }


def _constants(files: dict[str, str]) -> dict[str, str]:
    """Module-level string constants of the whole product, by name (a read through a constant
    imported from another module resolves too)."""
    found = {}
    for text in files.values():
        for node in ast.parse(text).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = node.value.value
    return found


def _value(node: ast.AST, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Attribute):  # `settings.LANDING_KEY_VARIABLE`
        return constants.get(node.attr)
    if isinstance(node, ast.JoinedStr):  # f"LIENTHONG_{name}"
        head = node.values[0] if node.values else None
        return _value(head, constants) if head is not None else None
    return None


def environment_reads(text: str, constants: dict[str, str]) -> list[tuple[int, str]]:
    """(line, name) of each read of a `LIENTHONG_*` variable from an environment mapping:
    `<…environ…>.get(name)`, `<…environ…>[name]`, `os.getenv(name)`; a read whose name is a
    parameter counts when the module passes a `LIENTHONG_*` name to a function."""
    tree = ast.parse(text)
    passed = [
        arg.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for arg in node.args
        if isinstance(arg, ast.Constant) and str(arg.value).startswith("LIENTHONG_")
    ]
    reads = []
    for node in ast.walk(tree):
        key: ast.AST | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            receiver = ast.unparse(node.func.value)
            if node.func.attr == "getenv" or (
                "environ" in receiver and node.func.attr in ("get", "pop", "setdefault")
            ):
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and "environ" in ast.unparse(node.value):
            key = node.slice
        if key is None:
            continue
        name = _value(key, constants)
        if name is None and passed:
            reads.append((node.lineno, f"{ast.unparse(key)} (one of {', '.join(passed)})"))
        elif name is not None and name.startswith("LIENTHONG_"):
            reads.append((node.lineno, name))
    return reads


def test_the_check_finds_a_read_however_it_is_spelled() -> None:
    constants = {"NAME": "LIENTHONG_X"}
    for line in (
        'os.environ.get("LIENTHONG_X")',
        'os.getenv("LIENTHONG_X", "")',
        "environ[NAME]",
        "self.environ.get(settings.NAME)",
        'os.environ.get(f"LIENTHONG_{part}")',
        'def count(name):\n    return os.environ.get(name)\ncount("LIENTHONG_X")',
    ):
        assert environment_reads(line, constants) != [], line
    assert environment_reads('os.environ.get("AIRFLOW_CONN_X")', constants) == []
    assert environment_reads('print("default: LIENTHONG_X")', constants) == []
    assert environment_reads('environ.get(env_var_name(conn_id))', constants) == []


def test_only_the_settings_read_lienthong_variables() -> None:
    files = _product_files()
    constants = _constants(files)
    readers = {
        f"{path}:{line} {name}"
        for path, text in files.items()
        if path not in MAY_READ
        for line, name in environment_reads(text, constants)
    }
    assert readers == set()
    # The settings do read them (the check above looks where they are).
    assert environment_reads(files["lienthong/settings.py"], constants)


def test_one_local_time_zone_one_period_one_instant_parser() -> None:
    zones, periods, parsers = [], [], []
    for path, text in _product_files().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and node.value == "Asia/Ho_Chi_Minh":
                zones.append(path)
            elif isinstance(node, ast.ClassDef) and node.name == "Period":
                periods.append(path)
            elif isinstance(node, ast.FunctionDef) and node.name == "parse_instant":
                parsers.append(path)
    assert zones == ["connectors/base.py"]
    assert periods == ["warehouse/reports/periods.py"]
    assert parsers == ["lienthong/orchestration.py"]
    for text in _product_files().values():
        assert text.count('ZoneInfo("Asia/Ho_Chi_Minh")') <= 1
    assert orchestration.TIMEZONE == "Asia/Ho_Chi_Minh" and orchestration.LOCAL_TZ is LOCAL_TZ
    assert all(isinstance(p, Period) for _, p in orchestration.running_periods(date(2019, 6, 30)))


def test_every_variable_is_in_the_one_settings_object(tmp_path) -> None:
    settings = load(
        {
            "LIENTHONG_WAREHOUSE_URL": "sqlite:///w.db",
            "LIENTHONG_VAR_DIR": str(tmp_path),
            "LIENTHONG_PSEUDONYM_KEY": KEY,
            "LIENTHONG_LANDING_KEY": KEY,
            "LIENTHONG_LANDING_URL": "s3://bucket/landing",
            "LIENTHONG_REPORTS_URL": "memory://r",
            "LIENTHONG_REPORTING_UNIT": "Trung tâm PVHCC tỉnh Thử nghiệm",
            "LIENTHONG_MAP_WORKERS": "0",
            "LIENTHONG_MAP_WORKER_FROM": "100",
            "LIENTHONG_BATCH_STALE_AFTER": "90",
            "LIENTHONG_DEMO": "1",
            "LIENTHONG_DEMO_PLAIN_HTTP_HOSTS": "Stand-Ins, ,other",
        }
    )
    assert settings == Settings(
        warehouse_url="sqlite:///w.db",
        var_dir=tmp_path,
        pseudonym_key=KEY.encode(),
        landing_key=KEY.encode(),
        landing_url="s3://bucket/landing",
        reports_url="memory://r",
        reporting_unit="Trung tâm PVHCC tỉnh Thử nghiệm",
        map_workers=0,
        map_worker_from=100,
        batch_stale_after=90.0,
        demo=True,
        demo_plain_http_hosts=frozenset({"stand-ins", "other"}),
    )
    assert settings.landing_store_url() == "s3://bucket/landing"
    assert mapper.workers(settings) == 0 and mapper.pool_from(settings) == 100


def test_the_defaults(tmp_path) -> None:
    settings = load({"LIENTHONG_VAR_DIR": str(tmp_path), "LIENTHONG_DEMO_PLAIN_HTTP_HOSTS": "x"})
    assert settings.warehouse_url == "sqlite:///var/warehouse.db"
    assert settings.pseudonym_key is None and settings.landing_key is None
    assert settings.landing_store_url() == (tmp_path / "landing").as_uri()
    assert settings.reports_store_url() == (tmp_path / "reports").as_uri()
    assert settings.reporting_unit == DEFAULT_REPORTING_UNIT
    assert settings.batch_stale_after == 600
    assert mapper.pool_from(settings) == mapper.POOL_FROM
    assert settings.demo_plain_http_hosts == frozenset()  # not the demo: no host named counts


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LIENTHONG_MAP_WORKERS": "two"}, "LIENTHONG_MAP_WORKERS is not a number: 'two'"),
        ({"LIENTHONG_MAP_WORKER_FROM": "x"}, "LIENTHONG_MAP_WORKER_FROM is not a number: 'x'"),
        (
            {"LIENTHONG_BATCH_STALE_AFTER": "0"},
            "LIENTHONG_BATCH_STALE_AFTER must be a number of seconds above 0, not '0'",
        ),
        ({"LIENTHONG_PSEUDONYM_KEY": "short"}, "LIENTHONG_PSEUDONYM_KEY is too short"),
    ],
)
def test_a_wrong_value_fails_in_one_line_that_names_it(environ, message) -> None:
    with pytest.raises(SettingsError) as caught:
        load(environ)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "message"),
    [(None, "LIENTHONG_LANDING_KEY is not set"), ("short", "LIENTHONG_LANDING_KEY is too short")],
)
def test_the_landing_key_is_checked_where_it_is_used(key, message) -> None:
    environ = {"LIENTHONG_LANDING_KEY": key} if key else {}
    settings = load(environ)  # a command that lands nothing runs without it
    with pytest.raises(SettingsError, match=message):
        settings.require_landing_key()


def test_the_cli_reads_instants_with_the_one_parser(capsys) -> None:
    args = _parser().parse_args(["sync", "one_stop", "--since", "2019-01-01"])
    assert args.since == orchestration.parse_instant("2019-01-01")
    assert args.since.tzinfo is LOCAL_TZ
    with pytest.raises(SystemExit):
        _parser().parse_args(["sync", "one_stop", "--since", "yesterday"])
    assert "argument --since: not an ISO date or date-time: 'yesterday'" in capsys.readouterr().err


def test_the_cli_lands_where_the_dags_do(tmp_path) -> None:
    from lienthong import landing

    chosen = load({"LIENTHONG_VAR_DIR": str(tmp_path / "var")})
    assert landing.landing_root(chosen=chosen).path == str((tmp_path / "var" / "landing").resolve())
    assert str(landing.landing_root(chosen=chosen)) == str(
        landing.UPath(chosen.landing_store_url())
    )


@pytest.mark.parametrize(
    ("header", "length"),
    [("1200", 1200), ("", 0), (" 7 ", 7), ("\u00b2", 0), ("9" * 5000, 0), ("-1", 0)],
)
def test_a_declared_length_never_raises(header, length) -> None:
    from connectors.retry import declared_length

    assert declared_length(header) == length
