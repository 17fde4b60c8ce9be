"""A throw-away IMAP server for the tests: Debian's Dovecot on a free loopback port, one mailbox
(``service`` / ``secret``), its mail in a temporary Maildir, removed afterwards. Dovecot runs as an
unprivileged user (as root: ``nobody``), so it chroots nothing."""

from __future__ import annotations

import getpass
import grp
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "service", "secret"

CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@dataclass
class ImapServer:
    root: Path
    port: int
    run_as: list[str]

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        if pid_file.exists():
            subprocess.run([*self.run_as, "kill", pid_file.read_text().strip()], check=False)
            deadline = time.monotonic() + 10
            while pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_imap() -> ImapServer:
    if not Path(DOVECOT).exists():
        raise RuntimeError("Dovecot is not installed: run `make test`, which installs it (dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="portal-imap-"))
    as_root = os.geteuid() == 0
    user, group = ("nobody", "nogroup") if as_root else (getpass.getuser(), grp.getgrgid(os.getgid()).gr_name)
    run_as = ["runuser", "-u", "nobody", "--"] if as_root else []
    port = _free_port()
    (root / "dovecot.conf").write_text(CONFIG.format(root=root, user=user, group=group, port=port))
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    for path in (root, root / "users", root / "dovecot.conf"):
        path.chmod(0o777 if path.is_dir() else 0o644)
    server = ImapServer(root, port, run_as)
    # Dovecot goes into the background: its output to a file, not to a pipe it would hold open.
    with open(root / "start.log", "w") as out:
        command = [*run_as, DOVECOT, "-c", str(root / "dovecot.conf")]
        subprocess.run(command, check=True, stdout=out, stderr=out)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                if probe.recv(100).startswith(b"* OK"):
                    return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            log = root / "dovecot.log"
            told = log.read_text() if log.exists() else ""
            server.stop()
            raise RuntimeError("Dovecot did not start: " + told)
        time.sleep(0.1)
