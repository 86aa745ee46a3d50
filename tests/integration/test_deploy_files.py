"""Checks of the deployment files: docker-compose.yml and deploy/.

No Docker engine is needed. docker-compose.yml is validated against the Compose
specification's schema that ships inside check-jsonschema; the tests below then check what
a schema cannot: that the six services run the right command, each against its own
database, start in the right order, and are told only documented settings; that Prometheus
scrapes all of them and that alerts and dashboards use only the metrics the services
export; that RabbitMQ's definitions declare the exchanges the bus publishes to.

YAML is read with ruamel.yaml, the parser check-jsonschema itself depends on (PyYAML is
not a dependency of the project).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"

SERVICES = {
    "gateway": 8000,
    "intake": 8001,
    "cases": 8002,
    "notify": 8003,
    "reporting": 8004,
    "integration": 8005,
}
BACKENDS = [name for name in SERVICES if name != "gateway"]

DOCUMENTED_ENV = (
    {
        "ALLSAK_AMQP_URL",
        "ALLSAK_BLOB_DIR",
        "ALLSAK_DATA_DIR",
        "ALLSAK_ADMIN_TOKEN",
        "ALLSAK_INTERNAL_TOKEN",
        "ALLSAK_SMTP_URL",
        "ALLSAK_LOG_LEVEL",
    }
    | {f"ALLSAK_{name.upper()}_DATABASE_URL" for name in SERVICES}
    | {f"ALLSAK_{name.upper()}_URL" for name in BACKENDS}
)

_COUNTERS_AND_GAUGES = {
    "allsak_http_requests_total",
    "allsak_bus_messages_consumed_total",
    "allsak_bus_published_total",
    "allsak_outbox_pending",
    "allsak_outbox_oldest_age_seconds",
    "allsak_bus_dead_letters",
    "allsak_intake_messages_received_total",
    "allsak_intake_messages_quarantined_total",
    "allsak_intake_quarantine_waiting",
    "allsak_notify_mails_sent_total",
    "allsak_notify_mails_failed_total",
    "allsak_integration_webhook_deliveries_total",
}
_HISTOGRAMS = {"allsak_http_request_duration_seconds", "allsak_bus_handler_duration_seconds"}
# A histogram is queried through its series, never by its bare name.
KNOWN_METRICS = (
    _COUNTERS_AND_GAUGES
    | {f"{name}_{suffix}" for name in _HISTOGRAMS for suffix in ("bucket", "sum", "count")}
    | {"up"}
)

EXCHANGES = {"allsak.events": "topic", "allsak.commands": "topic", "allsak.dlx": "direct"}


# --- helpers -----------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def resolve(value: object) -> str:
    """The value Compose would use with no variables set: each ``${VAR:-default}`` -> default."""
    return _INTERPOLATION.sub(lambda m: m.group(2) or "", str(value)).replace("$$", "$")


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): resolve(value) for key, value in env.items()}


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def healthcheck_test(service: dict[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test") or []
    return test if isinstance(test, str) else " ".join(str(part) for part in test)


def dependencies(service: dict[str, Any]) -> dict[str, Any]:
    deps = service.get("depends_on") or {}
    # The short (list) form means condition: service_started.
    return {name: {"condition": "service_started"} for name in deps} if isinstance(deps, list) else deps


def _mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, container path) of each volume entry, short or long syntax."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            mounts.append((source, rest.split(":")[0]))
        else:
            mounts.append((volume.get("source", ""), volume.get("target", "")))
    return mounts


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Host path (relative to the repository) -> container path."""
    return {source: target for source, target in _mounts(service) if source.startswith((".", "/"))}


def named_volumes(service: dict[str, Any]) -> dict[str, str]:
    """Named volume -> container path."""
    return {source: target for source, target in _mounts(service) if source and source[0] not in "./"}


def same_path(a: str, b: str) -> bool:
    return PurePosixPath(a.removeprefix("./")) == PurePosixPath(b.removeprefix("./"))


_PROMQL_WORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "atan2",
    "inf",
    "nan",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (Grafana variables allowed) selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # string literals
    text = re.sub(r"\$\{[^}]*\}|\$\w+", "", text)  # Grafana variables
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or aggregation
        if match.group() not in _PROMQL_WORDS:
            names.add(match.group())
    return names


def test_metric_names_helper() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, service) (rate(allsak_http_request_duration_seconds_bucket"
        '{service=~"$service", route!="/x"}[$__rate_interval]))) / on (service) group_left(queue) '
        "sum(rate(rate_limited_total[5m] offset 1h)) by (service) > bool 1e3"
    )
    assert metric_names(expr) == {"allsak_http_request_duration_seconds_bucket", "rate_limited_total"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


# --- docker-compose.yml ------------------------------------------------------------------


def _duplicate_keys(node: Any, path: str = "$") -> list[str]:
    if isinstance(node, MappingNode):
        keys = [key.value for key, _ in node.value if isinstance(key, ScalarNode) and key.value != "<<"]
        found = [f"{path}.{key}" for key in sorted({k for k in keys if keys.count(k) > 1})]
        for key, value in node.value:
            found += _duplicate_keys(value, f"{path}.{getattr(key, 'value', '?')}")
        return found
    if isinstance(node, SequenceNode):
        return [dup for i, item in enumerate(node.value) for dup in _duplicate_keys(item, f"{path}[{i}]")]
    return []


def test_compose_file_has_no_duplicate_keys() -> None:
    # Compose rejects a key given twice in one mapping; ruamel.yaml (and so the schema
    # check) silently keeps the last one where the mapping also has a `<<` merge.
    node = YAML(typ="safe", pure=True).compose(COMPOSE.read_text(encoding="utf-8"))
    assert not _duplicate_keys(node)


def test_compose_file_matches_compose_specification() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_service_runs_allsak_on_its_port(services: dict[str, Any], name: str) -> None:
    assert name in services, f"docker-compose.yml has no service {name!r}"
    assert command(services[name]) == ["allsak", "run", name, "--port", str(SERVICES[name])]


def test_services_share_one_image_built_from_deploy_dockerfile(services: dict[str, Any]) -> None:
    images = set()
    for name in SERVICES:
        build = services[name].get("build")
        assert isinstance(build, dict), f"{name}: no build section"
        assert same_path(build.get("context", "."), "."), f"{name}: build context must be the repository"
        assert same_path(build.get("dockerfile", ""), "deploy/Dockerfile"), f"{name}: not deploy/Dockerfile"
        images.add(services[name].get("image"))
    assert len(images) == 1 and None not in images, f"the six services must share one image tag: {images}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_healthcheck_asks_readyz_without_curl(services: dict[str, Any], name: str) -> None:
    health = services[name].get("healthcheck") or {}
    assert not health.get("disable"), f"{name}: healthcheck disabled"
    test = healthcheck_test(services[name])
    assert re.search(rf"//(127\.0\.0\.1|localhost):{SERVICES[name]}/readyz\b", test), (
        f"{name}: healthcheck must ask /readyz on port {SERVICES[name]}: {test!r}"
    )
    assert "urllib" in test and "curl" not in test, f"{name}: the image has Python, not curl: {test!r}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_uses_its_own_database(services: dict[str, Any], name: str) -> None:
    env = environment(services[name])
    own = f"ALLSAK_{name.upper()}_DATABASE_URL"
    assert own in env, f"{name}: {own} missing"
    others = sorted(key for key in env if key.endswith("_DATABASE_URL") and key != own)
    assert not others, f"{name} is given another service's database: {others}"
    url = urlsplit(env[own])
    assert url.scheme == "postgresql+asyncpg", f"{name}: {env[own]}"
    assert url.hostname == "postgres" and (url.port or 5432) == 5432, f"{name}: {env[own]}"
    assert url.path == f"/{name}", f"{name} must use database {name!r}: {env[own]}"
    assert url.username == f"allsak_{name}", f"{name} must log in as allsak_{name}: {env[own]}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment_is_documented(services: dict[str, Any], name: str) -> None:
    service = services[name]
    assert "env_file" not in service, f"{name}: settings must be visible in docker-compose.yml"
    unknown = sorted(set(environment(service)) - DOCUMENTED_ENV)
    assert not unknown, f"{name}: undocumented environment variables {unknown}"
    env = environment(service)
    for key in ("ALLSAK_AMQP_URL", "ALLSAK_INTERNAL_TOKEN"):
        assert env.get(key), f"{name}: {key} missing"


@pytest.mark.parametrize("name", SERVICES)
def test_service_starts_after_healthy_dependencies(services: dict[str, Any], name: str) -> None:
    deps = dependencies(services[name])
    assert {"postgres", "rabbitmq"} <= set(deps), f"{name} must wait for postgres and rabbitmq"
    for dep, spec in deps.items():
        assert dep in services, f"{name} depends on unknown service {dep!r}"
        assert spec.get("condition") == "service_healthy", f"{name} -> {dep}: {spec}"
        assert services[dep].get("healthcheck"), f"{name} waits for {dep}, which has no healthcheck"


def test_gateway_starts_last(services: dict[str, Any]) -> None:
    assert set(BACKENDS) <= set(dependencies(services["gateway"])), "gateway must wait for the other five"
    for name in BACKENDS:
        assert "gateway" not in dependencies(services[name]), f"{name} must not wait for the gateway"


def test_every_container_restarts(services: dict[str, Any]) -> None:
    for name, service in services.items():
        assert service.get("restart") in {"always", "unless-stopped", "on-failure"}, f"{name}: no restart"


def test_only_the_gateway_is_published_for_allsak(services: dict[str, Any]) -> None:
    ports = [str(port) for port in services["gateway"].get("ports") or []]
    assert any(re.fullmatch(r"(?:[\d.]+:)?8000:8000(?:/tcp)?", port) for port in ports), ports
    for name in BACKENDS:
        assert not services[name].get("ports"), f"{name} must not be published: only the gateway is"


def test_urls_point_at_compose_services(services: dict[str, Any]) -> None:
    gateway = environment(services["gateway"])
    for name in BACKENDS:
        assert gateway.get(f"ALLSAK_{name.upper()}_URL") == f"http://{name}:{SERVICES[name]}", name
    for name in SERVICES:
        amqp = urlsplit(environment(services[name])["ALLSAK_AMQP_URL"])
        assert (amqp.scheme, amqp.hostname, amqp.path) == ("amqp", "rabbitmq", "/allsak"), f"{name}: {amqp}"
    smtp = urlsplit(environment(services["notify"]).get("ALLSAK_SMTP_URL", ""))
    assert smtp.scheme == "smtp" and smtp.hostname in services, (
        f"notify's SMTP server is not a service: {smtp}"
    )
    assert smtp.hostname in dependencies(services["notify"]), "notify must wait for its SMTP server"


def test_intake_and_cases_share_the_blob_volume(compose: dict[str, Any], services: dict[str, Any]) -> None:
    shared = None
    for name in ("intake", "cases"):
        blob_dir = environment(services[name]).get("ALLSAK_BLOB_DIR")
        assert blob_dir, f"{name}: ALLSAK_BLOB_DIR missing"
        volumes = [
            vol for vol, target in named_volumes(services[name]).items() if same_path(target, blob_dir)
        ]
        assert volumes, f"{name}: no named volume mounted at ALLSAK_BLOB_DIR {blob_dir}"
        assert shared in (None, volumes[0]), "intake and cases mount different blob volumes"
        shared = volumes[0]
    assert shared in (compose.get("volumes") or {}), f"volume {shared!r} is not declared"


def test_interpolated_variables_have_defaults() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    bare = sorted(set(re.findall(r"\$\{(\w+)\}", text)) | set(re.findall(r"(?<!\$)\$(\w+)", text)))
    assert not bare, f"`docker compose up` must work without a .env file; give defaults to {bare}"


def test_bind_mounts_exist(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for source in bind_mounts(service):
            assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"


def test_infrastructure_services(services: dict[str, Any]) -> None:
    rabbit, postgres = services["rabbitmq"], services["postgres"]
    assert rabbit["image"] == "rabbitmq:3.13-management"
    assert healthcheck_test(rabbit).endswith("rabbitmq-diagnostics -q ping")
    mounts = {PurePosixPath(src).name: target for src, target in bind_mounts(rabbit).items()}
    assert mounts.get("rabbitmq.conf") == "/etc/rabbitmq/rabbitmq.conf"
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text(encoding="utf-8")
    loaded = re.search(r"^\s*load_definitions\s*=\s*(\S+)", conf, re.MULTILINE)
    assert loaded and mounts.get("definitions.json") == loaded.group(1), "definitions are not loaded at boot"

    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in healthcheck_test(postgres)
    init = [t for s, t in bind_mounts(postgres).items() if s.endswith("deploy/postgres/init-databases.sh")]
    assert init and init[0].startswith("/docker-entrypoint-initdb.d/"), "init-databases.sh is not mounted"
    assert environment(postgres).get("ALLSAK_DB_PASSWORD"), "init-databases.sh needs ALLSAK_DB_PASSWORD"

    for name, directory in (("prometheus", "deploy/prometheus"), ("grafana", "deploy/grafana/provisioning")):
        assert any(same_path(src, directory) for src in bind_mounts(services[name])), f"{name}: {directory}"


# --- deploy/postgres, deploy/Dockerfile --------------------------------------------------


def test_init_script_creates_every_database() -> None:
    script = DEPLOY / "postgres" / "init-databases.sh"
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
    text = script.read_text(encoding="utf-8")
    default = re.search(r'\$\{ALLSAK_DATABASES:-([^}"]*)\}', text)
    assert default, "init-databases.sh must list the services' databases"
    assert sorted(default.group(1).split()) == sorted(SERVICES)
    assert 'role="allsak_${service}"' in text, "each database needs its own role allsak_<service>"


def test_dockerfile() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    froms = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    assert froms and all(image == "python:3.11-slim" for image in froms), froms
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, "the image must run as a non-root user"
    installs = [line for line in lines if re.search(r"\bpip install\b", line)]
    assert installs, "the project must be installed with pip"
    assert not any("[dev" in line or "-e " in line for line in installs), installs
    assert any(line.startswith("COPY pyproject.toml") for line in lines)


# --- deploy/prometheus -------------------------------------------------------------------


def test_prometheus_scrapes_all_six() -> None:
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    targets = set()
    for job in config["scrape_configs"]:
        if job.get("metrics_path", "/metrics") != "/metrics":
            continue
        for static in job.get("static_configs") or []:
            targets.update(static.get("targets") or [])
    missing = sorted(f"{name}:{port}" for name, port in SERVICES.items() if f"{name}:{port}" not in targets)
    assert not missing, f"prometheus.yml does not scrape {missing}"
    for rule_file in config.get("rule_files") or []:
        assert (DEPLOY / "prometheus" / rule_file).is_file(), rule_file
    assert "alerts.yml" in (config.get("rule_files") or [])


def _alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(DEPLOY / "prometheus" / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_alert_rules_are_complete() -> None:
    rules = _alert_rules()
    assert rules
    for rule in rules:
        assert rule.get("alert") and rule.get("expr"), rule
        assert rule.get("labels", {}).get("severity") in {"warning", "critical"}, rule["alert"]
        assert rule.get("annotations", {}).get("summary"), rule["alert"]


def test_alert_expressions_use_known_metrics() -> None:
    used: set[str] = set()
    for rule in _alert_rules():
        names = metric_names(rule["expr"])
        assert names, f"{rule['alert']}: no metric found in {rule['expr']!r}"
        assert names <= KNOWN_METRICS, f"{rule['alert']}: unknown metrics {sorted(names - KNOWN_METRICS)}"
        used |= names
    wanted = {
        "up",  # a service down
        "allsak_outbox_pending",
        "allsak_outbox_oldest_age_seconds",
        "allsak_bus_dead_letters",
        "allsak_intake_quarantine_waiting",
        "allsak_bus_messages_consumed_total",
        "allsak_integration_webhook_deliveries_total",
    }
    assert wanted <= used, f"no alert on {sorted(wanted - used)}"


def test_quarantine_alert_waits_an_hour() -> None:
    rules = [r for r in _alert_rules() if "allsak_intake_quarantine_waiting" in metric_names(r["expr"])]
    assert rules and all(str(r.get("for")) in {"1h", "60m"} for r in rules), rules


# --- deploy/grafana ----------------------------------------------------------------------


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for panel in panels:
        found.append(panel)
        found.extend(_panels(panel.get("panels") or []))
    return found


def test_grafana_dashboard_uses_known_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "allsak.json").read_text(encoding="utf-8"))
    used: set[str] = set()
    panels = [p for p in _panels(dashboard["panels"]) if p.get("type") != "row"]
    assert panels
    for panel in panels:
        assert panel.get("targets"), f"panel {panel.get('title')!r} has no query"
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, f"{panel['title']}: no metric in {target['expr']!r}"
            assert names <= KNOWN_METRICS, (
                f"{panel['title']}: unknown metrics {sorted(names - KNOWN_METRICS)}"
            )
            used |= names
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else str(query or "")
        selector = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", query)
        names = metric_names(selector.group(1) if selector else query)
        assert names <= KNOWN_METRICS, f"variable {variable.get('name')}: unknown metrics {sorted(names)}"
    wanted = {
        "allsak_http_requests_total",
        "allsak_http_request_duration_seconds_bucket",
        "allsak_bus_messages_consumed_total",
        "allsak_outbox_pending",
        "allsak_bus_dead_letters",
        "allsak_intake_messages_received_total",
        "allsak_intake_messages_quarantined_total",
        "allsak_notify_mails_sent_total",
    }
    assert wanted <= used, f"the dashboard shows nothing of {sorted(wanted - used)}"


def test_grafana_provisioning_matches_compose(services: dict[str, Any]) -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    sources = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    prometheus = [s for s in sources if s["type"] == "prometheus"]
    assert prometheus and urlsplit(prometheus[0]["url"]).hostname in services
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "allsak.json").read_text(encoding="utf-8"))
    users = _panels(dashboard["panels"]) + dashboard.get("templating", {}).get("list", [])
    users += [target for panel in users for target in panel.get("targets") or []]
    uids = {user["datasource"]["uid"] for user in users if user.get("datasource")}
    assert uids == {prometheus[0]["uid"]}, f"the dashboard uses datasources {uids}"
    providers = load_yaml(provisioning / "dashboards" / "allsak.yml")["providers"]
    mounted = {
        t for s, t in bind_mounts(services["grafana"]).items() if same_path(s, "deploy/grafana/dashboards")
    }
    assert mounted and {p["options"]["path"] for p in providers} <= mounted, "provider path is not mounted"


# --- deploy/rabbitmq ---------------------------------------------------------------------


def test_rabbitmq_definitions_declare_the_exchanges(services: dict[str, Any]) -> None:
    definitions = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text(encoding="utf-8"))
    declared = {e["name"]: e for e in definitions.get("exchanges", []) if e.get("vhost") == "allsak"}
    for name, kind in EXCHANGES.items():
        assert name in declared, f"exchange {name} is not declared in vhost allsak"
        assert declared[name]["type"] == kind, f"{name} must be {kind}"
        assert declared[name]["durable"] is True, f"{name} must be durable"
    assert not definitions.get("queues"), "queues are declared by the services themselves"
    amqp = urlsplit(environment(services["cases"])["ALLSAK_AMQP_URL"])
    assert "allsak" in {v["name"] for v in definitions["vhosts"]}, "vhost allsak is not declared"
    assert amqp.username in {u["name"] for u in definitions["users"]}
    assert any(
        p["user"] == amqp.username and p["vhost"] == "allsak" and p["configure"] == ".*"
        for p in definitions["permissions"]
    ), "the services' user must be able to declare its queues in vhost allsak"


# --- deploy/README.md --------------------------------------------------------------------


def test_readme_names_every_deploy_file() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    files = [p for p in DEPLOY.rglob("*") if p.is_file() and p.name != "README.md"]
    assert files
    missing = sorted(str(p.relative_to(DEPLOY)) for p in files if p.name not in readme)
    assert not missing, f"deploy/README.md does not say what these are: {missing}"
