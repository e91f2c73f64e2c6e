"""The dev mailbox: in the embedded mode with no SMTP server (or Twilio account), messages are
kept on disk instead of vanishing, so a newcomer sees the confirmation, the verification or
invitation link, and the ``.ics`` invite. One line on the console per message, and the page
``/dev/mailbox`` (boka/web/dev_mailbox.py) shows them newest first.

Email is stored as the exact RFC 822 message that would have gone out (``.eml``, with its
calendar parts); an SMS as a small JSON file. Files, not tables: the app and a worker on the
same machine share them, and nothing about them needs migrating. The newest ``KEEP`` stay.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)
KEEP = 200
_ID = re.compile(r"^[0-9]{19,20}-[0-9a-f]{8}$")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class CapturedMessage:
    id: str
    channel: str  # email or sms
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


class DevMailbox:
    def __init__(self, directory: str | Path, public_url: str = "") -> None:
        self.directory = Path(directory)
        self.public_url = public_url.rstrip("/")

    def _new_id(self) -> str:
        return f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"

    def save_email(self, message: EmailMessage) -> str:
        message_id = self._new_id()
        self._write(f"{message_id}.eml", bytes(message))
        log.info(f"dev mailbox: email to {message['To']}: {message['Subject']}",
                 url=f"{self.public_url}/dev/mailbox/{message_id}")
        return message_id

    def save_sms(self, to: str, body: str) -> str:
        message_id = self._new_id()
        self._write(f"{message_id}.sms.json", json.dumps({"to": to, "body": body}).encode())
        log.info(f"dev mailbox: SMS to {to}", url=f"{self.public_url}/dev/mailbox/{message_id}")
        return message_id

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(data)
        temporary.replace(self.directory / name)  # readers never see half a message
        for old in self._files()[KEEP:]:
            old.unlink(missing_ok=True)

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        files = [f for f in self.directory.iterdir() if _ID.match(f.name.split(".", 1)[0])]
        return sorted(files, key=lambda f: f.name, reverse=True)

    def messages(self, limit: int = 50) -> list[CapturedMessage]:
        """Newest first."""
        return [m for m in (self._read(f) for f in self._files()[:limit]) if m is not None]

    def get(self, message_id: str) -> CapturedMessage | None:
        if not _ID.match(message_id):
            return None
        for suffix in (".eml", ".sms.json"):
            path = self.directory / f"{message_id}{suffix}"
            if path.is_file():
                return self._read(path)
        return None

    def _read(self, path: Path) -> CapturedMessage | None:
        message_id = path.name.split(".", 1)[0]
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None  # pruned meanwhile
        if path.name.endswith(".sms.json"):
            sms = json.loads(data)
            return CapturedMessage(id=message_id, channel="sms", to=sms["to"], subject="", body=sms["body"])
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        text = parsed.get_body(preferencelist=("plain",))
        attachments = tuple(
            Attachment(part.get_filename() or "attachment", part.get_content_type(),
                       part.get_payload(decode=True) or b"")
            for part in parsed.iter_attachments()
        )
        return CapturedMessage(
            id=message_id, channel="email", to=str(parsed["To"]), subject=str(parsed["Subject"]),
            body=text.get_content() if text is not None else "", attachments=attachments,
        )
