"""fakenos SSH devices in a subprocess, with realistic per-host outputs — shared by the SSH tests and bench.

fakenos' own canned ``show version`` outputs are not realistic (ntc-templates
parse nothing from them), so every host gets its outputs from
``tests/fixtures/ssh/<platform>/``.  fakenos reads its NOS definitions with
PyYAML's pure-Python loader (~0.6 s per host); the launcher swaps in the C loader
so a hundred hosts start in seconds.  Everything started here is stopped by PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).parent / "fixtures" / "ssh"
USERNAME = "netops"
PASSWORD = "Ssh-Pass-84!"  # the tests' credential, given to netmon through env:NETMON_TEST_SSH_PASSWORD

# platform → (fakenos NOS plugin, prompts where the commands are allowed, command → fixture file)
PLATFORMS: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "cisco_ios": ("cisco_ios", ["{base_prompt}#"], {
        "show version": "cisco_ios/show_version.txt",
        "show running-config": "cisco_ios/running_config.txt",
    }),
    "cisco_xe": ("cisco_ios", ["{base_prompt}#"], {
        "show version": "cisco_xe/show_version.txt",
        "show running-config": "cisco_xe/running_config.txt",
    }),
    "arista_eos": ("arista_eos", ["{base_prompt}#"], {
        "show version": "arista_eos/show_version.txt",
        "show running-config": "arista_eos/running_config.txt",
    }),
    "juniper_junos": ("juniper_junos", ["{base_prompt}>", "{base_prompt}#"], {
        "show version": "juniper_junos/show_version.txt",
        "show chassis hardware": "juniper_junos/show_chassis_hardware.txt",
        "show system uptime": "juniper_junos/show_system_uptime.txt",
        "show configuration": "juniper_junos/configuration.txt",
    }),
}

_LAUNCHER = (
    "import yaml\n"
    "yaml.safe_load = lambda stream: yaml.load(stream, Loader=yaml.CSafeLoader)\n"
    "from fakenos.plugins.utils.cli import run_cli\n"
    "run_cli()\n"
)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def hosts_for(targets: list[tuple[str, str, str, int]]) -> list[FakeHost]:
    return [FakeHost.realistic(name, platform, port, address) for name, platform, address, port in targets]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class FakeHost:
    name: str
    platform: str
    port: int
    address: str = "127.0.0.1"
    outputs: dict[str, str] = field(default_factory=dict)
    password: str = PASSWORD

    @classmethod
    def realistic(cls, name: str, platform: str, port: int, address: str = "127.0.0.1") -> FakeHost:
        _, _, files = PLATFORMS[platform]
        return cls(name, platform, port, address, {cmd: fixture(path) for cmd, path in files.items()})


class FakeNos:
    """One ``fakenos`` process serving ``hosts`` on 127.0.0.1; ``restart()`` applies changed outputs."""

    def __init__(self, hosts: list[FakeHost], host_key: Path | None = None, workdir: Path | None = None) -> None:
        self.hosts = hosts
        self.host_key = host_key
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="netmon-fakenos-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    def inventory(self) -> dict[str, Any]:
        hosts = {}
        for h in self.hosts:
            plugin, prompts, _ = PLATFORMS[h.platform]
            commands = {cmd: {"output": text, "prompt": prompts, "help": cmd} for cmd, text in h.outputs.items()}
            server: dict[str, Any] = {"address": h.address, "timeout": 1}
            if self.host_key is not None:
                server["ssh_key_file"] = str(self.host_key)
            hosts[h.name] = {"port": h.port, "platform": plugin, "password": h.password,
                             "server": {"plugin": "ParamikoSshServer", "configuration": server},
                             "nos": {"plugin": plugin, "configuration": {"commands": commands}}}
        return {"default": {"username": USERNAME, "password": PASSWORD}, "hosts": hosts}

    def start(self, timeout: float = 60.0) -> FakeNos:
        path = self.workdir / "fakenos.yaml"
        path.write_text(yaml.safe_dump(self.inventory(), allow_unicode=True), encoding="utf-8")
        log = open(self.workdir / "fakenos.log", "ab")  # noqa: SIM115 - closed when the process is stopped
        self.proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, "-i", str(path), "-l", "WARNING"],
                                     stdout=log, stderr=log, start_new_session=True)
        self._log = log
        deadline = time.monotonic() + timeout
        pending = {(h.address, h.port) for h in self.hosts}
        while pending:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fakenos exited ({self.proc.returncode}): {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"fakenos ports {sorted(pending)[:5]} not open after {timeout:.0f} s")
            for endpoint in list(pending):
                with socket.socket() as s:
                    s.settimeout(0.2)
                    if s.connect_ex(endpoint) == 0:
                        pending.discard(endpoint)
            if pending:
                time.sleep(0.05)
        return self

    def log_tail(self) -> str:
        try:
            return (self.workdir / "fakenos.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop our fakenos process (by PID; it runs in its own session, so its group is ours too)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        self._log.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> FakeNos:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_netmon_inventory(dest: Path, devices: list[tuple[str, str, str, int]], *, password_env: str,
                           timeout_s: float = 5.0, username: str = USERNAME) -> Path:
    """A minimal netmon inventory: one site per device, one SSH profile per device (its port).

    ``devices``: (device id, platform, address, ssh port). The SSH port lives in the profile
    (the schema has no per-device SSH port), so each fake device gets its own profile.
    """
    dest.mkdir(parents=True, exist_ok=True)
    province = {"code": "84", "name": "Tỉnh Trà Vinh",
                "bbox": {"min_lat": 9.4, "max_lat": 10.2, "min_lon": 105.8, "max_lon": 106.8},
                "districts": [{"code": "848", "name": "Huyện Cầu Ngang", "type": "huyện"}]}
    sites: list[dict[str, object]] = []  # every site has its device: a site without one is an inventory error
    out_devices, profiles = [], []
    for i, (device_id, platform, address, port) in enumerate(devices):
        site = f"site-{i:03d}"
        sites.append({"id": site, "name": f"UBND xã {i}", "kind": "state", "level": "district", "district": "848",
                      "lat": 9.79, "lon": 106.45})
        out_devices.append({"id": device_id, "site": site, "mgmt": address, "role": "district",
                            "platform": platform, "snmp_profile": "v2", "ssh_profile": f"ssh-{device_id}"})
        profiles.append({"name": f"ssh-{device_id}", "username": username, "password": f"env:{password_env}",
                         "enable_secret": f"env:{password_env}", "port": port, "timeout_s": timeout_s})
    doc = {"province": province, "sites": sites, "devices": out_devices,
           "snmp_profiles": [{"name": "v2", "version": "2c", "community": "env:NETMON_TEST_COMMUNITY"}],
           "ssh_profiles": profiles}
    (dest / "inventory.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                                         encoding="utf-8")
    return dest


# Every secret written into the fixture configurations: none may survive scrubbing, anywhere.
SECRETS: dict[str, tuple[str, list[str]]] = {
    "cisco_ios": ("cisco_ios/running_config.txt", [
        "$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM", "13061E0108030A2F2B2A",
        "$9$Wc3m5Xq0RLmHTk$ePpBnGwB9u9qbQbyF5W6u8B1bJ2cV7KxKe3rU5gqz7A", "094F471A1A0A464058",
        "$9$Lq2A8yVQpXw1dE$zJ9mK3nR5tH7vB1cX4aS6dF8gH0jL2kP9oI7uY5tR3e", "TVH-Vpn@2024!HQ", "Ikev2Local#84",
        "Ikev2Remote#84", "045802150C2E1D1C5A", "1511021F07257A767B", "00071A150754", "02050D4808095E731F",
        "110A1016141D5A5E57", "Tr4V1nh-R0", "Tr4V1nh-Rw!9", "Tr4V1nh-Trap", "0822455D0A16544541",
        "104D000A061843595F", "1316061F0D1E3E3D32", "121A0C0411045D5679", "0316560A0E0A2E4F1D",
        "070C285F4D061A0A19",
    ]),
    "cisco_xe": ("cisco_xe/running_config.txt", [
        "$8$pGq1oWlQ7KpHcU$8kCt7vXJ9d1Z3qWm5EyR2uN6bL4sA0fT8hG1jK3lP5o",
        "$9$4fHb2sCmQ7Pn1k$Y3x6Vq8mW1eR4tZ7uI0oP2aS5dF9gH3jK6lL8zX1cV2", "bVHYJ_PNcXSKRKRMVDd`aHgRFOcIUFcHLAAB",
        "RfVcQAXE[dYVOWQVCWHAAB`fZFiJdOBZgAAB", "TieuCan@Psk2024", "TieuCan@PskRemote",
        "]fUYeGQ[ZiYLQDf`BYSBO]RUAUZaAAB", "0822455D0A165A5E4F12", "QfKZTEJ`RbHfUcTKWeBPTGjLBAAB", "Core@Tr4V1nh",
        "Core@Trap", "aDgZ]bHbVL^cWY^PAgG[EJLbNZAAB", "0822455D0A16",
    ]),
    "cisco_nxos": ("cisco_nxos/running_config.txt", [
        "$5$KLMNOP$Nx0sAdminHash0123456789abcdefGHIJKLmnopqr", "$5$QRSTUV$Nx0sNetopsHashZYXWVUTSRQponmlkjihgfedcba",
        "Nx0sTacKey!7", "Nx0sHostKey!8", "0x1a2b3c4d5e6f708192a3b4c5d6e7f809", "0x9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "Nx0s-Trap", "Nx0s-Tr4V1nh", "Nx0sNtpKey", "0f3b2a1c4d5e6f70", "7a1b2c3d4e5f6a7b",
    ]),
    "cisco_xr": ("cisco_xr/running_config.txt", [
        "$6$Xr.SaltA$XrNetopsSecretHash0123456789abcdefABCDEF0123456789abcdefABCDEFGHIJ", "105A0C1D1E1B1F0A0E",
        "Xr-Tr4V1nh", "Xr-Trap", "0822455D0A16", "094F471A1A0A", "02050D480809",
    ]),
    "arista_eos": ("arista_eos/running_config.txt", [
        "$6$Hj2kLmN0pQrS$Zq1w2e3r4t5y6u7i8o9p0aSdFgHjKlZxCvBnM1q2w3e4r5t6y7u8i9o0pAsDfGhJkL", "06120A3258581D",
        "Eos-Tr4V1nh", "Eos-Rw#2024", "5f4e3d2c1b0a99887766554433221100ffeeddcc", "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "Eos-Trap", "070C285F4D06485744", "104D000A0618435D5A", "01100F175804575D72",
        "$6$Qw3rTy$e1Nab1eSecretHashValueForEnable0123456789abcdefABCDEFghijklmnopqr",
        "$6$AdM1nS4lt$AdminHashValue0123456789ABCDEFabcdefGHIJKLghijklMNOPQRmnopqrSTUV",
        "$6$N3t0psS4lt$NetopsHashValueZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfe", "Backup@Plain2024",
        "0B1D2A3C4E5F60718293A4B5C6D7E8F901A2B3C4D5E6F708192A3B4C5D6E7F80", "Eo1MsGoAaZpSGiUvqf9mDA==",
        "4vXfH+RGqZ1mA0VQbfjq3A==", "VrrpText!1", "bo/9qvhyx1QpL0nQgZsgmQ==", "KlIqcPBnBzpC8Ar3jrLBUQ==",
    ]),
    "juniper_junos": ("juniper_junos/configuration.txt", [
        "$6$Zk1.tB3r$u7Yq2w9E4r1T6y8U0i3O5p7A9s2D4f6G8h0J2k4L6z8X0c2V4b6N8m0Q1w3E5r7T9y1U3i5O7p9A1s3D5f7G",
        "$6$Nq8.xR2m$Netops0123456789abcdefghijABCDEFGHIJklmnopqrstKLMNOPQRSTuvwxyzUVWXYZ0123456789abcdefgh",
        "Backup@Junos2024", "$9$H.fQ3/t1RSM87-VbwsYoaJUk.PQn/CuO", "$9$dqbYoZUjHqfTFn6AtOBSyl8LXxdbs2gJ",
        "$9$Ee2cSeLxNb4aUjkqf3n6revMLxdVYg", "$9$lFiKWxNdb2aUjHqP5z3nKvWLxNdsYg4ZUikmTz", "Jun0s-Tr4V1nh",
        "Jun0s Rw 2024", "$9$Snmp3AuthKeyJunosAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "$9$Snmp3PrivKeyJunosZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210", "$9$OspfMd5KeyJunos.dVYgJUk.PQnCuOH",
        "$9$BgpAuthKeyJunosq.fT3/t1RSM8",
    ]),
    "huawei": ("huawei/current_configuration.txt", [
        "Y5k~Rz0!p8J#SuperPwdCipher2z{N", "TacacsShared~Key(Cipher)\"9x", "RadiusShared+Key{Cipher}7q",
        "$1a$Hw8#Adm1nIrr3v$Cipher0123456789abcdefXYZ$", "NetopsLocal/Pwd@Cipher", "IkePeerPsk]Cipher[2024",
        "IfOspfMd5<Cipher>Key", "VrrpMd5Plain!1", "AreaOspfMd5=Cipher", "BgpPeerPwd:Cipher;84",
        "SnmpReadComm,Cipher.A", "Hw-Rw@Plain2024", "TrapSecName|Cipher", "UsmAuth?Cipher1", "UsmPriv&Cipher2",
        "NtpKey1*Cipher", "ConsolePwd_Cipher", "WlanPsk~Cipher#84",
    ]),
    "hp_comware": ("hp_comware/current_configuration.txt", [
        "Cw0NtpKeyCipherA1b2C3d4", "Cw-Tr4V1nh", "Cw0SnmpWriteCipherZz9", "Cw0AuthPlain", "Cw0PrivPlain",
        "Cw0TacKeyCipherQq7", "Cw0TacAuthzPlain", "Cw0RadKeyCipherWw5", "Cw0AdminHashValue", "Cw0BackupPlain!",
        "Cw0IkePskCipherEe3",
    ]),
    "mikrotik_routeros": ("mikrotik_routeros/export.rsc", [
        "kJ8mQ2vX9pL4tR7wY1zA3bC5dE6fG0hI2jK4lM6nO8Q=", "UbndTT@Wifi2024", "TVH ipsec PSK!9", "PppS3cret!2024",
        "L2tpIpsec#2024", "Wg0Psk1Zz2Yy3Xx4Ww5Vv6Uu7Tt8Ss9Rr0Qq1Pp2=", "RadiusK3y!TVH", "OspfMd5Key84", "BgpMd5Key!84",
        "Mt-Trap2024", "Mt-Tr4V1nh", "SnmpAuth2024", "SnmpPriv2024", "MailPass1",
    ]),
    "fortinet": ("fortinet/configuration.txt", [
        "SH2Fg0rtiAdminHashAbCdEfGhIjKlMnOpQrStUvWxYz0123456789=", "Fg-Tr4V1nh", "Fg0TacKeyEncAbCdEf==",
        "Fg0PskEncZyXwVu==", "Fg0CertPwdEnc==", "Fg0PrivKeyLine1", "Fg0PrivKeyLine2",
    ]),
}
"""platform → (fixture configuration, secrets in it)."""

# Lines that look secret-ish but are not: scrubbing must keep them (the config stays useful).
KEPT: dict[str, list[str]] = {
    "cisco_ios": ["hostname TVH-RT-CAUNGANG", "service password-encryption", " key 1", "ntp trusted-key 1",
                  "snmp-server location UBND Huyen Cau Ngang, Tra Vinh", " description WAN VNPT-TVH-0102"],
    "cisco_xe": ["password encryption aes", "crypto isakmp key 6 <removed> address 113.161.84.12",
                 "  30820330 30820218 A0030201 02020101 300D0609 2A864886 F70D0101 05050030"],
    "cisco_nxos": ["hostname TVH-DC-N9K-01", "ntp server 10.84.0.1 use-vrf management key 1"],
    "cisco_xr": ["hostname TVH-PE-01", "tacacs-server host 10.84.0.20 port 49"],
    "arista_eos": ["username netops ssh-key ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7netopsPublicKeyIsNotSecretQWERTY "
                   "netops@noc", "snmp-server user netmon netmon-grp v3 localized 800007db03289936e17f20 auth sha "
                   "<removed> priv aes <removed>", "ntp authentication-key 1 md5 7 <removed>"],
    "juniper_junos": ['ssh-rsa "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDnetopsJunosPublicKeyNotSecret netops@noc";',
                      "community CUST-TVH members 65084:100;", "authentication-key 1 type md5 value \"<removed>\";"],
    "huawei": [" sysname TVH-MLB-AR", " snmp-agent sys-info version v2c v3", " authentication-mode aaa"],
    "hp_comware": [" sysname TVH-SW-TIEUCAN", "pre-shared-key address 113.161.84.2 255.255.255.255 key cipher"],
    "mikrotik_routeros": ['public-key="Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe9Dc8Ba7ZyA="', "set name=TVH-TTCN-RB",
                          "# serial number = HE208F29VJQ"],
    "fortinet": ['set hostname "TVH-FW-HU"', "MIIDdzCCAl+gAwIBAgIEPublicCertNotSecret"],
}
